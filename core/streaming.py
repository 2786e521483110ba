"""Run coroutines concurrently and hand back each result as soon as it is ready.

For families: fetch namespaces concurrently (the client bounds requests in flight) and yield each
collection the moment it completes, so mapping starts early and a namespace's raw API data is
freed as soon as it is mapped. ``limit`` caps how many run at once: enough to keep the client's
request pipeline full, few enough that the raw data of every namespace is never held at once.
When the consumer stops iterating, the walks still running are cancelled instead of leaking.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def as_they_complete(awaitables: Iterable[Awaitable[T]], *, limit: int | None = None) -> AsyncIterator[T]:
    waiting = iter(awaitables)  # a generator is consumed lazily: coroutines are made when started
    running: set[asyncio.Future[T]] = set()

    def start_more() -> None:
        while limit is None or len(running) < limit:
            try:
                running.add(asyncio.ensure_future(next(waiting)))
            except StopIteration:
                return

    start_more()
    try:
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            running.difference_update(done)
            start_more()
            for task in done:
                yield task.result()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
