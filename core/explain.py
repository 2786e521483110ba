"""``openchoreo-sync explain <entityRef>``: where one entity comes from and what touched it.

The stored snapshot says which resource, collection and family an entity came from, whether it is
stale or pending removal, and (through the run records) when it last changed. Which plugin's
``map_resource`` answered, which ``decorate_entity`` changed it and which ``relate`` reported each
relation are not stored (recording them would cost every run); ``explain`` finds them out by
building the catalog once, as a run would, with an :class:`ExplainingMapper` that replays only the
one resource that produced the entity through each implementation in turn.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

from .build import Build, Mapper, describe_error, fetch_and_map
from .context import SyncContext
from .engine import Engine
from .model import Entity, EntityRef, Resource, entity_ref, normalize_ref
from .plugins_manager import LoadedPlugins
from .reconcile import STALE_ANNOTATION, keep_bodies
from .snapshot import EntityIndex

RUNS_SEARCHED = 200
"""How many recent run records are searched for the entity's last change."""


@dataclass
class MappingTrace:
    """Which plugins made the entity from its resource, found by replaying that one resource."""

    resource: str
    """the resource's ``describe()``: kind, namespace and name"""
    mapper: str | None = None
    decorators_changed: list[str] = field(default_factory=list)
    decorators_unchanged: list[str] = field(default_factory=list)
    wrappers: list[str] = field(default_factory=list)
    """``map_resource`` hook wrappers around every mapping (they may alter the result)"""


class ExplainingMapper(Mapper):
    """A :class:`Mapper` that traces the resource producing ``target``; others map as usual."""

    def __init__(self, plugins: LoadedPlugins, ctx: SyncContext, target: EntityRef) -> None:
        super().__init__(plugins, ctx)
        self._plugins = plugins
        self._target = target
        self.trace: MappingTrace | None = None

    def map_one(self, resource: Resource, build: Build) -> list[Entity]:
        produced = super().map_one(resource, build)
        if self.trace is None and any(entity_ref(entity) == self._target for entity in produced):
            self.trace = self._replay(resource)
        return produced

    def _replay(self, resource: Resource) -> MappingTrace:
        trace = MappingTrace(resource.describe())
        answer: list[Entity] | None = None
        for implementation in self._plugins.each("map_resource"):
            if implementation.impl.hookwrapper or implementation.impl.wrapper:
                trace.wrappers.append(implementation.plugin)
                continue
            answer = implementation(resource=resource, ctx=self._ctx)
            if answer is not None:
                trace.mapper = implementation.plugin
                break
        entity = next((e for e in answer or () if entity_ref(e) == self._target), None)
        if entity is None:
            return trace
        for decorator in self._plugins.each("decorate_entity"):
            before = copy.deepcopy(entity)
            decorator(entity=entity, resource=resource, ctx=self._ctx)
            (trace.decorators_changed if entity != before else trace.decorators_unchanged).append(decorator.plugin)
        return trace


@dataclass
class RelationOrigin:
    type: str
    target: EntityRef
    reported_by: list[str]
    """plugins whose ``relate`` reported it, as ``plugin`` or ``plugin (inverse of <type>)``"""


@dataclass
class Explanation:
    ref: EntityRef
    in_catalog: bool
    collection: str | None = None
    family: str | None = None
    source: str | None = None
    """the OpenChoreo resource it was made from (``kind:namespace/name``)"""
    stale_since: str | None = None
    carried_because: str | None = None
    pending_misses: int | None = None
    grace_runs: int = 1
    last_change: dict[str, str] | None = None
    """``{run_id, finished_at, how}`` of the newest run record listing it as added or changed"""
    in_live_api: bool | None = None
    """whether the API produces it now (None when the live build could not be made)"""
    live_error: str | None = None
    trace: MappingTrace | None = None
    relations: list[RelationOrigin] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return value.__dict__ if hasattr(value, "__dict__") else value

        data = {key: plain(value) for key, value in self.__dict__.items() if key != "relations"}
        data["relations"] = [r.__dict__ for r in self.relations]
        return data

    def lines(self) -> list[str]:
        out = [self.ref + ("" if self.in_catalog else "  (not in the committed catalog)")]
        if self.source:
            out.append(f"  from resource   {self.source}")
        if self.collection:
            out.append(f"  collection      {self.collection}  (family plugin {self.family})")
        if self.trace is not None:
            out.append(f"  mapped by       {self.trace.mapper or '(no plugin answered on replay)'}")
            if self.trace.wrappers:
                out.append(f"  wrapped by      {', '.join(self.trace.wrappers)}")
            out.append(f"  decorated by    {', '.join(self.trace.decorators_changed) or '-'}")
            if self.trace.decorators_unchanged:
                out.append(f"  left unchanged  {', '.join(self.trace.decorators_unchanged)}")
        if self.stale_since:
            out.append(f"  STALE since {self.stale_since}: carried forward ({self.carried_because or 'see status'})")
        if self.pending_misses is not None:
            out.append(
                f"  PENDING REMOVAL: absent from {self.pending_misses} complete run(s); removed after {self.grace_runs}"
            )
        if self.in_live_api is False and self.pending_misses is None and not self.stale_since:
            out.append("  not produced by the API now: the next run would remove it (or hold it for the grace period)")
        if self.live_error:
            out.append(f"  live build failed: {self.live_error}")
        if self.last_change:
            change = self.last_change
            out.append(f"  last {change['how']} in run {change['run_id']} at {change['finished_at']}")
        elif self.in_catalog:
            out.append(f"  last change: not in the last {RUNS_SEARCHED} run records")
        for relation in self.relations:
            reporters = ", ".join(relation.reported_by) or "stored only"
            out.append(f"  {relation.type:<16} {relation.target}  <- {reporters}")
        return out


async def explain_entity(engine: Engine, ref_text: str) -> Explanation:
    ref = normalize_ref(ref_text)
    store = engine.store
    entries = await asyncio.to_thread(store.index_entries, [ref])
    bodies = await asyncio.to_thread(store.load_bodies, [ref])
    entry, body = entries.get(ref), bodies.get(ref)
    grace_runs = engine.config.openchoreo.safety.deletion_grace_runs
    explanation = Explanation(ref, in_catalog=entry is not None, grace_runs=grace_runs)
    if entry is not None:
        explanation.collection, explanation.family, explanation.source = entry.collection, entry.family, entry.source
        pending = await asyncio.to_thread(store.pending_removals)
        explanation.pending_misses = pending.get(ref)
    if body is not None:
        explanation.stale_since = body.get("metadata", {}).get("annotations", {}).get(STALE_ANNOTATION)
    explanation.last_change = await asyncio.to_thread(_last_change, engine, ref)
    if explanation.stale_since and entry is not None:
        explanation.carried_because = await asyncio.to_thread(_carry_reason, engine, entry.collection, entry.family)
    try:
        await _live(engine, ref, explanation, body)
    except Exception as exc:  # the stored facts still answer
        explanation.live_error = describe_error(exc)
    return explanation


async def _live(engine: Engine, ref: EntityRef, explanation: Explanation, body: Entity | None) -> None:
    async with engine.client_factory() as client:
        ctx = engine.context("explain", client)
        mapper = ExplainingMapper(engine.plugins, ctx, ref)
        build = await fetch_and_map(engine.plugins, ctx, mapper=mapper)
    explanation.in_live_api = ref in build.entities
    explanation.trace = mapper.trace
    previous, plan, _ = await engine.reconcile(build)
    await keep_bodies(engine.store, plan, previous, set(), build.entities)
    reporters = _reporters(build.entities, engine.plugins, ctx, ref)
    stored = [(r["type"], r["targetRef"]) for r in (body or {}).get("relations", [])]
    for key in sorted(set(stored) | set(reporters)):
        explanation.relations.append(RelationOrigin(key[0], key[1], reporters.get(key, [])))


def _reporters(
    entities: dict[EntityRef, Entity], plugins: LoadedPlugins, ctx: SyncContext, ref: EntityRef
) -> dict[tuple[str, EntityRef], list[str]]:
    """``(type, target) -> reporting plugins`` for the relations of ``ref``, each relator on its own."""
    index = EntityIndex(entities)
    inverse = plugins.inverse
    found: dict[tuple[str, EntityRef], list[str]] = {}
    for relator in plugins.each("relate"):
        try:
            produced = list(relator(entities=index, ctx=ctx) or ())
        except Exception as exc:
            found.setdefault(("(relate failed)", describe_error(exc)), []).append(relator.plugin)
            continue
        for relation in produced:
            if relation.source == ref:
                found.setdefault((relation.type, relation.target), []).append(relator.plugin)
            elif relation.target == ref and relation.type in inverse:
                key = (inverse[relation.type], relation.source)
                found.setdefault(key, []).append(f"{relator.plugin} (inverse of {relation.type})")
    return found


def _last_change(engine: Engine, ref: EntityRef) -> dict[str, str] | None:
    for run in engine.store.recent_runs(RUNS_SEARCHED):
        for how in ("added", "changed"):
            if ref in run.summary.get(how, ()):
                return {"run_id": run.run_id, "finished_at": str(run.finished_at), "how": how}
    return None


def _carry_reason(engine: Engine, collection: str, family: str) -> str | None:
    for run in engine.store.recent_runs(1):
        summary = run.summary
        if collection in summary.get("failed_collections", {}):
            return f"collection {collection} failed: {summary['failed_collections'][collection]}"
        if family in summary.get("failed_families", {}):
            return f"family {family} failed: {summary['failed_families'][family]}"
    return None
