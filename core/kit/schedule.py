"""A collection refreshed on its own schedule: read every N seconds, kept as committed in between.

Some sources change slowly (a user directory) while OpenChoreo runs every few seconds. A family
asks :func:`due` before reading such a collection; when it is not due it yields
``Collection(name, unchanged=True)`` and the core keeps what the last snapshot holds from it
exactly (not stale, nothing removed, relations recomputed). The clock is the committed catalog's:
a collection is due when it was never committed complete, or when its last complete read started
``every`` seconds ago or more. A read that failed, or a run that was not committed, leaves the
time where it was, so the next run tries again; a restart keeps the schedule.

Collection names are matched in any family: give such collections names no other family uses
(prefix them with the source, like ``thunder-users``).

Example (a ``fetch`` hook)::

    from openchoreo_sync.kit import Collection
    from openchoreo_sync.kit.schedule import due

    async def fetch(ctx):
        if not await due(ctx, ["directory-people"], every=600):
            yield Collection("directory-people", unchanged=True)
            return
        yield await read_people(ctx)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

from ..context import SyncContext

__all__ = ["due", "last_complete"]


def _parse(stamp: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


async def last_complete(ctx: SyncContext, collection: str) -> datetime | None:
    """When ``collection`` (a cluster-scoped collection's name) was last read completely and
    committed; None without a store or when it never was."""
    catalog = ctx.catalog
    if catalog is None:
        return None
    times = await asyncio.to_thread(catalog.collection_times)
    suffix = f":cluster/{collection}"
    found = [t for key, stamp in times.items() if key.endswith(suffix) and (t := _parse(stamp)) is not None]
    return max(found) if found else None


async def due(ctx: SyncContext, collections: Iterable[str], *, every: float, now: datetime | None = None) -> bool:
    """True when any of ``collections`` must be read this run (see the module docstring)."""
    moment = now or datetime.now(UTC)
    for name in collections:
        last = await last_complete(ctx, name)
        if last is None or (moment - last).total_seconds() >= every:
            return True
    return False
