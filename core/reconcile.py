"""Decide, per entity of the last good snapshot, whether this run keeps, carries or removes it.

This is where the safety guarantees live: a fault may delay an update, never delete data.
Entities of a collection that failed (or of a family that failed as a whole, or could not even be
loaded) are carried forward and marked stale; an entity absent from a complete view is removed
only after ``grace_runs`` consecutive complete runs; and the deletion guard holds any run that
would remove too much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .build import Build
from .model import EntityRef
from .store.base import IndexEntry

STALE_ANNOTATION = "openchoreo-sync.io/stale-since"
"""Set on carried-forward entities: when their collection was last fetched completely."""


@dataclass
class Plan:
    carried: set[EntityRef] = field(default_factory=set)
    """kept from the last snapshot because their collection or family failed (marked stale)"""
    pending: dict[EntityRef, int] = field(default_factory=dict)
    """absent from a complete view, but within the grace period: kept, count of misses so far"""
    removed: set[EntityRef] = field(default_factory=set)
    guard_reasons: list[str] = field(default_factory=list)


def plan_reconcile(
    previous: Mapping[EntityRef, IndexEntry],
    build: Build,
    *,
    unavailable_families: set[str],
    pending_before: Mapping[EntityRef, int],
    grace_runs: int,
    max_deletion_ratio: float,
) -> Plan:
    """Compare the last snapshot's index with this run's build."""
    plan = Plan()
    failed_families = set(build.families_failed) | unavailable_families
    for ref, entry in previous.items():
        if ref in build.entities:
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
