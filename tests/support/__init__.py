"""Shared test support code (harnesses, fixtures) for openchoreo-catalog-sync tests."""
