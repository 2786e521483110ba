"""Pytest fixtures that run the mock OpenChoreo API for a test.

``mock_openchoreo`` serves the default sample world with auth off; ``mock_openchoreo_factory``
builds mocks of any size, auth mode or fault set and stops all of them at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec

__all__ = ["MockFactory", "mock_openchoreo", "mock_openchoreo_factory"]

MockFactory = Callable[..., MockOpenChoreo]


@pytest.fixture
def mock_openchoreo() -> Iterator[MockOpenChoreo]:
    """A running mock with the default sample world (worked example included), auth off."""
    with MockOpenChoreo() as mock:
        yield mock


@pytest.fixture
def mock_openchoreo_factory() -> Iterator[MockFactory]:
    """``factory(seed=1, namespaces=2, projects=2, components=4, example=True, auth=False,
    faults=None, **MockOpenChoreo kwargs)`` → a started mock; ``faults`` is a
    :meth:`Faults.configure` dict."""
    mocks: list[MockOpenChoreo] = []

    def factory(
        *,
        seed: int = 1,
        namespaces: int = 2,
        projects: int = 2,
        components: int = 4,
        example: bool = True,
        auth: bool = False,
        faults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> MockOpenChoreo:
        spec = WorldSpec(seed=seed, namespaces=namespaces, projects=projects, components=components, example=example)
        mock = MockOpenChoreo(spec, auth=auth, **kwargs)
        mocks.append(mock)
        mock.start()
        if faults:
            mock.faults.configure(faults)
        return mock

    yield factory
    for mock in mocks:
        mock.stop()
