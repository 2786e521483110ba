"""Fixtures for the end-to-end tests (a real Backstage backend, see e2e/backstage)."""

from tests.support.backstage_fixtures import backstage_backend, backstage_backend_factory  # noqa: F401
