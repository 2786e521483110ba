"""Apply one re-fetched resource to the committed snapshot, without a full sync.

Relations are recomputed only around what changed: the re-mapped entities, the entities they
replace or remove, and every entity related to either (old or new). A relation between two
entities depends only on those two, so every entity outside that neighbourhood keeps its
relations, and inside it each entity's relations to the outside are kept as stored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .build import Build, Mapper
from .context import SyncContext
from .event_removals import removal_hold
from .model import CollectionKey, Entity, EntityRef, Refetched, ResourceEvent, source_id
from .relate import relate_entities
from .serialization import Origin, diff_writes
from .snapshot import ChangeSet
from .store.base import Commit, IndexEntry, RunRecord
from .store.sql import utcnow
from .store_snapshot import StoreSnapshot
from .writer import SnapshotWriter, apply_commit


@dataclass
class DeltaResult:
    changes: ChangeSet
    problems: list[str] = field(default_factory=list)
    held: str | None = None
    """why the delta's removals were not applied (the whole delta then changes nothing)"""


def _targets(entity: Entity) -> set[EntityRef]:
    return {str(r["targetRef"]) for r in entity.get("relations", ()) if "targetRef" in r}


async def apply_refetched(
    writer: SnapshotWriter, family: str, event: ResourceEvent, refetched: Refetched, ctx: SyncContext, run_id: str
) -> DeltaResult:
    """Map, relate and commit the entities of one re-fetched resource; emit the delta to outputs."""
    store = writer.store
    plugins = writer.plugins
    build = Build()
    key = CollectionKey(family, refetched.collection.name, refetched.collection.namespace)
    if not refetched.gone:
        Mapper(plugins, ctx).map_collection(key, refetched.collection, build)
    sources = {r.source_id for r in refetched.collection.resources}
    if refetched.gone or not refetched.collection.resources:
        sources.add(refetched.source or source_id(event.kind, refetched.collection.namespace, event.name))

    async with writer.lock:
        old_refs = set(await asyncio.to_thread(store.refs_by_sources, sources))
        new = build.entities
        removed = {ref for ref in old_refs if ref not in new}
        # Stored versions of what this event replaces; absent refs are simply not returned.
        old_bodies = await asyncio.to_thread(store.load_bodies, old_refs | set(new))

        # First pass: relations of the new entities, to find their neighbours.
        first = {ref: dict(entity) for ref, entity in new.items()}
        relate_entities(first, plugins, ctx).graph.attach(first)
        candidates = set().union(*(_targets(e) for e in first.values()), *(_targets(e) for e in old_bodies.values()))
        candidates -= set(new) | removed
        # Only what the neighbourhood touches is looked up, never the whole index (events stay O(1)).
        previous = await asyncio.to_thread(store.index_entries, candidates | set(new) | old_refs)
        if removed and (held := await _removal_hold(writer, removed, previous, str(key), len(new))):
            return DeltaResult(ChangeSet(), build.problems, held=held)
        neighbours = {ref for ref in candidates if ref in previous}
        neighbour_bodies = await asyncio.to_thread(store.load_bodies, neighbours)

        inside: dict[EntityRef, Entity] = dict(new)
        kept_outside: dict[EntityRef, list[dict[str, Any]]] = {}
        recomputed = set(new) | neighbours | removed
        for ref, body in neighbour_bodies.items():
            kept_outside[ref] = [r for r in body.get("relations", ()) if r.get("targetRef") not in recomputed]
            body.pop("relations", None)
            inside[ref] = body
        relate_entities(inside, plugins, ctx).graph.attach(inside)
        for ref, outside in kept_outside.items():
            merged = {(r["type"], r["targetRef"]) for r in inside[ref]["relations"]}
            merged |= {(r["type"], r["targetRef"]) for r in outside}
            inside[ref]["relations"] = [{"type": t, "targetRef": target} for t, target in sorted(merged)]

        def origin_of(ref: EntityRef) -> Origin:
            if ref in new:
                return str(key), family, build.source.get(ref, "")
            before = previous[ref]
            return before.collection, before.family, before.source

        changes, writes = diff_writes(inside, previous, origin_of)
        changes.removed = sorted(removed)
        changes.removed_entities = {ref: old_bodies[ref] for ref in removed if ref in old_bodies}
        if not writes and not removed:
            return DeltaResult(changes, build.problems)

        now = utcnow()
        record = RunRecord(
            run_id=run_id,
            started_at=now,
            finished_at=now,
            status="ok" if not build.problems else "partial",
            trigger="event",
            summary={
                "event": {
                    "kind": event.kind,
                    "namespace": event.namespace,
                    "name": event.name,
                    "action": event.action,
                },
                "changes": changes.summary(),
                "added": changes.added,
                "changed": changes.changed,
                "removed": changes.removed,
                "problems": build.problems,
            },
        )
        commit = Commit(run=record, writes=writes, removals=changes.removed, replace_pending=False)
        await apply_commit(store, commit)
        writer.mark_delta([*changes.added, *changes.changed, *changes.removed])
        writer.event_removals += len(changes.removed)
        changes.event = True
        await writer.outputs.emit(StoreSnapshot(store, run_id, preloaded=inside), changes, ctx)
        return DeltaResult(changes, build.problems)


async def _removal_hold(
    writer: SnapshotWriter,
    removed: set[EntityRef],
    previous: dict[EntityRef, IndexEntry],
    collection: str,
    written: int,
) -> str | None:
    """The full sync's deletion rules applied to this delta's removals (see ``event_removals``)."""
    where = {ref: previous[ref].collection for ref in removed if ref in previous}
    sizes = await asyncio.to_thread(writer.store.collection_sizes, set(where.values()))
    return removal_hold(
        removed=where,
        collection_sizes=sizes,
        added_to={collection: written},
        catalog_size=await asyncio.to_thread(writer.store.count),
        removed_since_full=writer.event_removals,
        safety=writer.safety,
    )
