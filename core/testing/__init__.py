"""Test kit for this project and for third-party plugin authors (also a pytest plugin)."""

from .harness import SyncHarness, deep_merge, harness_config

__all__ = ["SyncHarness", "deep_merge", "harness_config"]
