"""Decide, per entity of the last good snapshot, whether this run keeps, carries or removes it.

This is where the safety guarantees live: a fault may delay an update, never delete data.
Entities of a collection that failed (or of a family that failed as a whole, or could not even be
loaded) are carried forward and marked stale; an entity absent from a complete view is removed
only after ``grace_runs`` consecutive complete runs; and the deletion guard holds any run that
would remove too much.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .build import Build
from .model import CollectionKey, Entity, EntityRef
from .serialization import Origin
from .store.base import IndexEntry, StateStore

STALE_ANNOTATION = "openchoreo-sync.io/stale-since"
"""Set on carried-forward entities: when their collection was last fetched completely."""


@dataclass
class Plan:
    carried: set[EntityRef] = field(default_factory=set)
    """kept from the last snapshot because their collection or family failed (marked stale)"""
    unchanged: set[EntityRef] = field(default_factory=set)
    """kept from the last snapshot as they are: their collection was not due for a refresh"""
    pending: dict[EntityRef, int] = field(default_factory=dict)
    """absent from a complete view, but within the grace period: kept, count of misses so far"""
    removed: set[EntityRef] = field(default_factory=set)
    guard_reasons: list[str] = field(default_factory=list)
    empty_held: dict[str, int] = field(default_factory=dict)
    """collection -> entities carried because it came back complete but empty (a likely RBAC gap)"""
    empty_streaks: dict[str, int] = field(default_factory=dict)
    """collection -> consecutive runs it came back empty while holding entities (stored between runs)"""
    empty_reasons: list[str] = field(default_factory=list)


def permission_hint(collection: str) -> str:
    """``trait:view`` for ``component_types:ns/traits``: the OpenChoreo action a reader needs to list it."""
    name = collection.rpartition("/")[2]
    return f"{name[:-1] if name.endswith('s') else name}:view"


def _hold_empty_collections(
    previous: Mapping[EntityRef, IndexEntry],
    build: Build,
    plan: Plan,
    *,
    streaks_before: Mapping[str, int],
    empty_runs: int,
    released: set[str],
) -> None:
    """Carry what a collection held when it suddenly lists nothing, until that is confirmed.

    OpenChoreo's list endpoints drop the items the caller may not view and answer 200, so a reader
    role that lost (or never got) a kind's ``:view`` looks exactly like everything being deleted.
    A collection that held entities and comes back complete and empty is carried (stale) until it
    was empty in ``empty_runs`` consecutive runs, or an approval released it.
    """
    for collection in build.collections_unchanged & set(streaks_before):
        plan.empty_streaks[collection] = streaks_before[collection]  # still empty, not re-read: keep counting
    held: dict[str, list[EntityRef]] = {}
    for collection, count in build.collections_ok.items():
        if count == 0 and collection not in build.empty_roots:
            held[collection] = []
    if not held:
        return
    for ref, entry in previous.items():
        if entry.collection in held and ref not in build.entities:
            held[entry.collection].append(ref)
    for collection, refs in sorted(held.items()):
        if not refs:
            continue
        streak = streaks_before.get(collection, 0) + 1
        if streak >= empty_runs or collection in released:
            continue
        plan.empty_streaks[collection] = streak
        plan.empty_held[collection] = len(refs)
        plan.carried.update(refs)
        plan.empty_reasons.append(
            f"{collection} came back empty (200, no items) while the catalog holds {len(refs)} entities "
            f"from it; kept (stale) for now, empty {streak} of {empty_runs} runs. Likely cause: the "
            f"sync's reader role lacks {permission_hint(collection)} (OpenChoreo lists drop what the "
            "caller may not view). Fix: grant it (backstage-catalog-reader); if they really are "
            "gone, wait for openchoreo.safety.emptyCollectionRuns runs or approve with "
            "openchoreo-sync approve-deletions <this run's id>"
        )


def plan_reconcile(
    previous: Mapping[EntityRef, IndexEntry],
    build: Build,
    *,
    unavailable_families: set[str],
    pending_before: Mapping[EntityRef, int],
    grace_runs: int,
    max_deletion_ratio: float,
    empty_streaks_before: Mapping[str, int] | None = None,
    empty_runs: int = 1,
    released_empty: set[str] | None = None,
) -> Plan:
    """Compare the last snapshot's index with this run's build."""
    plan = Plan()
    _hold_empty_collections(
        previous,
        build,
        plan,
        streaks_before=empty_streaks_before or {},
        empty_runs=empty_runs,
        released=released_empty or set(),
    )
    failed_families = set(build.families_failed) | unavailable_families
    for ref, entry in previous.items():
        if ref in build.entities or ref in plan.carried:
            continue
        if entry.collection in build.collections_unchanged:
            plan.unchanged.add(ref)
            continue
        incomplete = entry.collection in build.collections_failed or entry.collection in build.collections_incomplete
        if incomplete or (entry.family in failed_families and entry.collection not in build.collections_ok):
            plan.carried.add(ref)
            continue
        misses = pending_before.get(ref, 0) + 1
        if misses >= grace_runs:
            plan.removed.add(ref)
        else:
            plan.pending[ref] = misses

    for root in sorted(build.empty_roots):
        held = sum(1 for entry in previous.values() if entry.collection == root)
        if held:
            plan.guard_reasons.append(
                f"{root} came back empty while the catalog holds {held} entities from it "
                "(an upstream fault or missing RBAC looks exactly like this)"
            )
    if previous and plan.removed:
        ratio = len(plan.removed) / len(previous)
        if ratio > max_deletion_ratio:
            plan.guard_reasons.append(
                f"the run would remove {len(plan.removed)} of {len(previous)} entities ({ratio:.0%}), "
                f"more than openchoreo.safety.maxDeletionRatio ({max_deletion_ratio:.0%})"
            )
    return plan


# --- applying a plan ---------------------------------------------------------------------------


def yield_to_deltas(plan: Plan, build: Build, newer: set[EntityRef]) -> None:
    """Leave alone what an event delta committed while this run was fetching: it is newer."""
    for ref in newer:
        build.entities.pop(ref, None)
        plan.removed.discard(ref)
        plan.pending.pop(ref, None)
        plan.carried.discard(ref)
        plan.unchanged.discard(ref)


async def keep_bodies(
    store: StateStore,
    plan: Plan,
    previous: Mapping[EntityRef, IndexEntry],
    newer: set[EntityRef],
    entities: dict[EntityRef, Entity],
) -> dict[EntityRef, Entity]:
    """Put what the plan keeps from the last snapshot into ``entities``; return those bodies.

    Carried entities are stamped stale with the time their collection was last complete; pending
    removals and delta-committed entities are kept as they are (without a stale mark); entities
    of collections not due for a refresh keep their body exactly, stale mark included. Stored
    relations are dropped: the run relates every entity afresh.
    """
    kept_refs = plan.carried | set(plan.pending) | plan.unchanged | (newer & previous.keys())
    kept = await asyncio.to_thread(store.load_bodies, kept_refs) if kept_refs else {}
    times = await asyncio.to_thread(store.collection_times) if plan.carried else {}
    for ref, body in kept.items():
        body.pop("relations", None)
        if ref in plan.unchanged:
            entities[ref] = body
            continue
        annotations = body.setdefault("metadata", {}).setdefault("annotations", {})
        annotations.pop(STALE_ANNOTATION, None)
        if ref in plan.carried:
            annotations[STALE_ANNOTATION] = times.get(previous[ref].collection, "unknown")
        entities[ref] = body
    return kept


def origin_lookup(
    build: Build, kept: Mapping[EntityRef, Entity], previous: Mapping[EntityRef, IndexEntry]
) -> Callable[[EntityRef], Origin]:
    """Where each written entity comes from: kept ones keep their stored origin.

    Computed as each write is made: a table of it would cost a tuple and a string per entity.
    """
    key_names: dict[CollectionKey, str] = {}

    def origin_of(ref: EntityRef) -> Origin:
        if ref in kept:
            before = previous[ref]
            return before.collection, before.family, before.source
        key = build.origin[ref]
        name = key_names.get(key)
        if name is None:
            name = key_names[key] = str(key)
        return name, key.family, build.source.get(ref, "")

    return origin_of


def matching_approval(store: StateStore, removed: set[EntityRef]) -> str | None:
    """An approved guarded run whose planned removals cover this run's removals."""
    for run_id in store.approvals():
        approved = store.get_run(run_id)
        if approved is None:
            continue
        planned = set(approved.summary.get("planned_removals", []))
        if removed <= planned:
            return run_id
    return None
