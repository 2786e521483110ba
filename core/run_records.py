"""What a run leaves behind: its id, its result, and the summary its run record keeps.

``openchoreo-sync status``, the run records in the store and the daemon's last result all read
these summaries, so their shape is defined once here, for applied, unapplied and hung runs alike.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import Entity, EntityRef
from .relation_graph import RelationGraph
from .snapshot import ChangeSet

if TYPE_CHECKING:
    from .build import Build
    from .reconcile import Plan
    from .relate import RelateReport

MAX_REFS_IN_RECORD = 1000
"""A run record keeps at most this many refs per change list (the counts are always whole)."""


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


@dataclass
class RunResult:
    run_id: str
    status: str
    """ok | partial | failed | guarded | timed_out | unchanged"""
    changes: ChangeSet = field(default_factory=ChangeSet)
    summary: dict[str, Any] = field(default_factory=dict)
    entities: dict[EntityRef, Entity] = field(default_factory=dict)
    """the run's entities as mapped; their relations are in ``relations`` (and in the store)"""
    relations: RelationGraph | None = None

    def entity(self, ref: EntityRef) -> Entity:
        """One entity of the run as committed, relations included."""
        entity = self.entities[ref]
        return entity if self.relations is None else self.relations.with_relations(ref, entity)

    @property
    def succeeded(self) -> bool:
        """The run applied what it saw completely (``ok``) or there was nothing to apply."""
        return self.status in ("ok", "unchanged")


def timed_out_summary(timeout: float) -> dict[str, Any]:
    return {
        "error": f"the run did not finish within openchoreo.schedule.timeout ({timeout} s); "
        "it was cancelled and the last good catalog is unchanged",
        "counts": {},
        "changes": ChangeSet().summary(),
        "failed_collections": {},
        "failed_families": {},
    }


def unapplied_summary(build: Build, plan: Plan, status: str) -> dict[str, Any]:
    """A failed or guarded run: what it saw, and (guarded) what it would have removed."""
    summary: dict[str, Any] = {
        "counts": build.kind_counts(),
        "changes": ChangeSet().summary(),
        "failed_collections": build.collections_failed,
        "failed_families": build.families_failed,
        "problems": build.problems,
        "skipped": build.skipped,
    }
    if status == "guarded":
        summary["guard"] = plan.guard_reasons
        summary["planned_removals"] = sorted(plan.removed)
    return summary


def applied_replica() -> str:
    """Which daemon process committed a run (``host:pid``)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def applied_summary(
    build: Build,
    plan: Plan,
    relate_report: RelateReport,
    changes: ChangeSet,
    relate_seconds: float,
    enabled_families: set[str],
) -> dict[str, Any]:
    """A committed run: counts, changes (with a sample of refs), relations, timings, the replica."""
    return {
        "counts": build.kind_counts(),
        "resources": build.resources,
        "carried": len(plan.carried),
        "empty_held": plan.empty_held,
        "unchanged": len(plan.unchanged),
        "unchanged_collections": sorted(build.collections_unchanged),
        "pending_removal": len(plan.pending),
        "failed_collections": build.collections_failed,
        "failed_families": build.families_failed,
        "problems": build.problems,
        "skipped": build.skipped,
        "changes": changes.summary(),
        "added": changes.added[:MAX_REFS_IN_RECORD],
        "changed": changes.changed[:MAX_REFS_IN_RECORD],
        "removed": changes.removed[:MAX_REFS_IN_RECORD],
        "relations": relate_report.relations,
        "dangling": dict(relate_report.dangling),
        "relate_failures": relate_report.failures,
        "families": sorted(enabled_families),
        "replica": applied_replica(),
        "seconds": {
            "fetch": round(build.fetch_seconds, 3),
            "map": round(build.map_seconds, 3),
            "relate": round(relate_seconds, 3),
        },
    }
