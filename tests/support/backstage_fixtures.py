"""Pytest fixtures around :class:`tests.support.backstage_backend.BackstageBackend`.

Use them from a conftest.py with::

    from tests.support.backstage_fixtures import backstage_backend, backstage_backend_factory  # noqa: F401

The fixtures skip only when ``node``/``npm`` are not on PATH; any other problem (install failure,
startup timeout) is a test error, never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.backstage_backend import STANDARD_KINDS, BackstageBackend, node_available

BackstageFactory = Callable[..., BackstageBackend]


def _skip_without_node() -> None:
    reason = node_available()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def backstage_backend() -> Iterator[BackstageBackend]:
    """One Backstage backend for the whole session, allowing all standard kinds
    (``STANDARD_KINDS``: Component, API, System, Domain, Resource, Group, User, Location, Template).

    Shared state: tests must use unique entity names and should unregister their locations.
    """
    _skip_without_node()
    with BackstageBackend(allow_kinds=list(STANDARD_KINDS)) as backend:
        yield backend


@pytest.fixture
def backstage_backend_factory() -> Iterator[BackstageFactory]:
    """Start extra backends with custom settings, e.g. ``factory(allow_kinds=["Component"])``.

    Takes the same keyword arguments as ``BackstageBackend``; every backend started is stopped at
    the end of the test.
    """
    _skip_without_node()
    started: list[BackstageBackend] = []

    def factory(**kwargs: Any) -> BackstageBackend:
        backend = BackstageBackend(**kwargs)
        started.append(backend)
        return backend.start()

    yield factory
    for backend in reversed(started):
        backend.cleanup()
