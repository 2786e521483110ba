"""Fixtures for the end-to-end tests (a real Backstage backend, see e2e/backstage)."""

import sys
from pathlib import Path

# `tests` is not an installed package; make `tests.support` importable however pytest is invoked.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.support.backstage_fixtures import backstage_backend, backstage_backend_factory  # noqa: E402, F401
