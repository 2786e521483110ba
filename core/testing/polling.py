"""Bounded waits for tests: poll a condition until it holds or a deadline passes.

Tests never sleep for an outcome; they poll with a bound and fail naming what they waited for.
Shared by this project's tests and by third-party plugin tests (the daemon and the mock API run
on the test's own event loop or in threads, so both a blocking and an async form exist).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.02
"""Seconds between two checks of the condition (the interval of a bounded wait)."""


def poll(predicate: Callable[[], T], *, timeout: float, what: str) -> T:
    """Return the first truthy value of ``predicate()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(INTERVAL)
    return value


async def apoll(predicate: Callable[[], T | Awaitable[T]], *, timeout: float, what: str) -> T:
    """Like :func:`poll`, without blocking the event loop; ``predicate`` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(INTERVAL)
