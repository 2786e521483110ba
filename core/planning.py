"""``openchoreo-sync plan``: what the next run would add, change and remove, committing nothing.

The plan is made by the engine's own steps (``build.fetch_and_map``, ``reconcile.plan_reconcile``
and ``keep_bodies``, ``relate.relate_entities``, ``serialization.iter_writes``) against the stored
snapshot, so it lists exactly what ``once`` would then commit; only the commit and emit are left
out. Each changed entity comes with a field-level diff against its stored body.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from .build import fetch_and_map
from .engine import Engine
from .model import Entity, EntityRef
from .reconcile import keep_bodies, matching_approval, origin_lookup
from .relate import relate_entities
from .run_records import new_run_id
from .serialization import iter_writes
from .snapshot import ChangeSet

ABSENT: Any = None
"""``before`` of an added field and ``after`` of a removed one (the ``op`` says which)."""


@dataclass(frozen=True)
class FieldChange:
    path: str
    """dotted path into the entity (``spec.lifecycle``); ``relations[]`` for an item of a list"""
    op: str
    """added | removed | changed"""
    before: Any = ABSENT
    after: Any = ABSENT

    def describe(self) -> str:
        if self.op == "added":
            return f"{self.path}: + {_short(self.after)}"
        if self.op == "removed":
            return f"{self.path}: - {_short(self.before)}"
        return f"{self.path}: {_short(self.before)} -> {_short(self.after)}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Where two entity bodies differ: per key for objects, per item for lists (order aside)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[FieldChange] = []
        for key in sorted(before.keys() | after.keys()):
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append(FieldChange(sub, "removed", before=before[key]))
            elif key not in before:
                changes.append(FieldChange(sub, "added", after=after[key]))
            else:
                changes.extend(field_changes(before[key], after[key], sub))
        return changes
    if before == after:
        return []
    if isinstance(before, list) and isinstance(after, list):
        old = {json.dumps(item, sort_keys=True): item for item in before}
        new = {json.dumps(item, sort_keys=True): item for item in after}
        items = [FieldChange(f"{path}[]", "removed", before=old[k]) for k in sorted(old.keys() - new.keys())]
        items += [FieldChange(f"{path}[]", "added", after=new[k]) for k in sorted(new.keys() - old.keys())]
        if items:
            return items
    return [FieldChange(path, "changed", before, after)]


@dataclass
class RunPlan:
    """What the next run would do; ``outcome`` is what ``once`` would report."""

    snapshot: str | None
    """the committed snapshot the plan compares with (its run id)"""
    outcome: str
    """unchanged | changes | guarded | failed"""
    added: list[EntityRef] = field(default_factory=list)
    changed: dict[EntityRef, list[FieldChange]] = field(default_factory=dict)
    removed: list[EntityRef] = field(default_factory=list)
    pending: dict[EntityRef, int] = field(default_factory=dict)
    """absent now, kept for the grace period: misses so far"""
    carried: list[EntityRef] = field(default_factory=list)
    """kept as stale because their collection or family failed"""
    guard_reasons: list[str] = field(default_factory=list)
    empty_reasons: list[str] = field(default_factory=list)
    """collections that came back empty and would be held (their entities kept, stale)"""
    approved_by: str | None = None
    """the approved guarded run that lets the removals through"""
    failed_collections: dict[str, str] = field(default_factory=dict)
    failed_families: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    grace_runs: int = 1

    @property
    def would_change(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "outcome": self.outcome,
            "added": self.added,
            "changed": {
                ref: [{"path": c.path, "op": c.op, "before": c.before, "after": c.after} for c in diff]
                for ref, diff in self.changed.items()
            },
            "removed": self.removed,
            "pending_removal": self.pending,
            "carried": self.carried,
            "guard": self.guard_reasons,
            "empty_held": self.empty_reasons,
            "approved_by": self.approved_by,
            "failed_collections": self.failed_collections,
            "failed_families": self.failed_families,
            "problems": self.problems,
        }

    def lines(self) -> list[str]:
        """The plan for a terminal, one fact a line."""
        out = [
            f"plan against snapshot {self.snapshot or '(none yet)'}: "
            f"+{len(self.added)} ~{len(self.changed)} -{len(self.removed)}  ({self.outcome})"
        ]
        out += [f"  + {ref}" for ref in self.added]
        for ref, diff in self.changed.items():
            out.append(f"  ~ {ref}")
            out += [f"      {change.describe()}" for change in diff]
        out += [f"  - {ref}" for ref in self.removed]
        for ref, misses in sorted(self.pending.items()):
            out.append(f"  pending removal {misses} of {self.grace_runs} run(s): {ref}")
        if self.carried:
            out.append(f"  carried forward as stale: {len(self.carried)} entities")
        for key, error in {**self.failed_families, **self.failed_collections}.items():
            out.append(f"  failed {key}: {error}")
        for reason in self.guard_reasons:
            out.append(f"  guard: {reason}")
        for reason in self.empty_reasons:
            out.append(f"  held empty: {reason}")
        if self.outcome == "guarded":
            out.append(
                "  the next run would be held and commit nothing; approve it with "
                "'openchoreo-sync approve-deletions <its run id>' (see 'status') or set "
                "openchoreo.safety.allowMassDeletion: true"
            )
        elif self.approved_by:
            out.append(f"  the removals are approved by guarded run {self.approved_by}")
        if self.outcome == "failed":
            out.append("  the next run would fail and leave the catalog unchanged")
        out += [f"  skipped: {problem}" for problem in self.problems]
        return out


async def plan_run(engine: Engine) -> RunPlan:
    """Fetch, map, reconcile and relate as a run would, then diff instead of committing."""
    run_id = new_run_id()
    async with engine.client_factory() as client:
        ctx = engine.context(run_id, client)
        build = await fetch_and_map(engine.plugins, ctx)
    store = engine.store
    safety = engine.config.openchoreo.safety
    previous, reconcile_plan, _ = await engine.reconcile(build)  # what the next run would decide
    result = RunPlan(
        snapshot=await asyncio.to_thread(store.snapshot_version),
        outcome="unchanged",
        pending=dict(reconcile_plan.pending),
        carried=sorted(reconcile_plan.carried),
        guard_reasons=list(reconcile_plan.guard_reasons),
        empty_reasons=list(reconcile_plan.empty_reasons),
        failed_collections=dict(build.collections_failed),
        failed_families=dict(build.families_failed),
        problems=list(build.problems),
        grace_runs=safety.deletion_grace_runs,
    )
    if not build.collections_ok and (build.families_failed or build.collections_failed):
        result.outcome = "failed"
        return result
    if reconcile_plan.guard_reasons and not safety.allow_mass_deletion:
        result.approved_by = await asyncio.to_thread(matching_approval, store, reconcile_plan.removed)
    entities = build.entities
    kept = await keep_bodies(store, reconcile_plan, previous, set(), entities)
    graph = relate_entities(entities, engine.plugins, ctx).graph
    changes = ChangeSet(removed=sorted(reconcile_plan.removed))
    written = {
        write.ref: write.entity
        for write in iter_writes(
            entities, previous, origin_lookup(build, kept, previous), changes, reconcile_plan.carried, graph
        )
    }
    result.added, result.removed = sorted(changes.added), changes.removed
    result.changed = await _diffs(engine, sorted(changes.changed), written)
    if reconcile_plan.guard_reasons and not safety.allow_mass_deletion and result.approved_by is None:
        result.outcome = "guarded"
    elif result.would_change:
        result.outcome = "changes"
    return result


async def _diffs(
    engine: Engine, refs: list[EntityRef], written: dict[EntityRef, Entity]
) -> dict[EntityRef, list[FieldChange]]:
    stored = await asyncio.to_thread(engine.store.load_bodies, refs) if refs else {}
    return {ref: field_changes(stored.get(ref, {}), written[ref]) for ref in refs}


__all__ = ["FieldChange", "RunPlan", "field_changes", "plan_run"]
