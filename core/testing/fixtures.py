"""Pytest fixtures around :class:`SyncHarness`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

from .harness import SyncHarness

HarnessFactory = Callable[..., SyncHarness]


@pytest_asyncio.fixture
async def sync_harness_factory(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    """``factory(base_url, overrides=None, extra_plugins=None, state_dir=None)`` -> SyncHarness.

    Every harness made is closed at teardown.
    """
    made: list[SyncHarness] = []

    def factory(
        base_url: str,
        overrides: dict[str, Any] | None = None,
        *,
        extra_plugins: list[tuple[str, object]] | None = None,
        state_dir: Path | None = None,
    ) -> SyncHarness:
        harness = SyncHarness(base_url, state_dir or tmp_path, overrides, extra_plugins=extra_plugins)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.close()
