"""Run coroutines concurrently and hand back each result as soon as it is ready.

Families fetch every namespace at once (the client bounds requests in flight) and yield each
collection the moment it completes, so mapping starts early; when the consumer stops iterating,
the walks still running are cancelled instead of leaking.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def as_they_complete(awaitables: Iterable[Awaitable[T]]) -> AsyncIterator[T]:
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
