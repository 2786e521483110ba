"""One sync run: fetch -> map -> relate -> reconcile with the last good snapshot -> commit -> emit.

The engine is the single writer of the snapshot: full runs and event deltas take the same lock
for everything from reconcile to emit, so they never interleave on one snapshot.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import structlog

from .build import Build, describe_error, fetch_and_map
from .config import AppConfig
from .context import ApiClient, SyncContext
from .hookcall import call_impl
from .model import CollectionKey, Entity, EntityRef
from .output_report import OutputReport
from .plugins_manager import LoadedPlugins
from .reconcile import STALE_ANNOTATION, Plan, plan_reconcile
from .relate import RelateReport, relate_entities
from .relation_graph import RelationGraph
from .snapshot import ChangeSet, MemorySnapshot
from .store.base import Commit, EntityWrite, IndexEntry, RunRecord, StateStore
from .store.sql import utcnow
from .validation import forget_memos

ClientFactory = Callable[[], AbstractAsyncContextManager[ApiClient]]

MAX_REFS_IN_RECORD = 1000
EMPTY_STREAKS = "empty_streaks"
"""Store meta key: collection -> consecutive runs it came back empty while holding entities."""


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def serialize(entity: Entity) -> tuple[str, str]:
    """Canonical JSON and its content hash: equal content always gives an equal hash."""
    body = json.dumps(entity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return body, hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


Origin = tuple[str, str, str]
"""(collection key, family, source id) of an entity, as the store records it."""


def iter_writes(
    entities: Mapping[EntityRef, Entity],
    previous: Mapping[EntityRef, IndexEntry],
    origin_of: Callable[[EntityRef], Origin],
    changes: ChangeSet,
    stale: set[EntityRef] | frozenset[EntityRef] = frozenset(),
    relations: RelationGraph | None = None,
) -> Iterator[EntityWrite]:
    """Serialize every entity; yield a write for each whose content hash differs from the stored one.

    A generator, recording each change in ``changes`` as it goes: the store consumes it inside its
    transaction, so only one chunk of serialised bodies (with their relations, taken from
    ``relations`` when given) is in memory at a time.
    """
    for ref, entity in entities.items():
        if relations is not None:
            entity = relations.with_relations(ref, entity)
        text, digest = serialize(entity)
        before = previous.get(ref)
        if before is not None and before.hash == digest:
            continue
        (changes.changed if before is not None else changes.added).append(ref)
        collection, family, source = origin_of(ref)
        yield EntityWrite(ref, entity, text, digest, collection, family, ref in stale, source)


def diff_writes(
    entities: Mapping[EntityRef, Entity],
    previous: Mapping[EntityRef, IndexEntry],
    origin_of: Callable[[EntityRef], Origin],
) -> tuple[ChangeSet, list[EntityWrite]]:
    """All writes at once (for small deltas)."""
    changes = ChangeSet()
    writes = list(iter_writes(entities, previous, origin_of, changes))
    return changes, writes


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
        return self.status in ("ok", "unchanged")


class Engine:
    def __init__(
        self,
        config: AppConfig,
        plugins: LoadedPlugins,
        store: StateStore,
        client_factory: ClientFactory,
        *,
        log: Any = None,
    ) -> None:
        self.config = config
        self.plugins = plugins
        self.store = store
        self.client_factory = client_factory
        self.log = log or structlog.get_logger("openchoreo_sync.engine")
        self.writer = asyncio.Lock()
        """Held from reconcile to emit by full runs and event deltas alike."""
        self.delta_touched: dict[EntityRef, float] = {}
        """ref -> when an event delta last committed it; a full run that fetched before then keeps it."""
        self.dangling_logged: dict[str, int] = {}
        """The dangling-reference counts last logged: logged again only when they change."""
        self.extras: dict[str, Any] = {}
        """Shared by every context this engine makes, so ``emit`` sees what the daemon put there."""

    # --- contexts ------------------------------------------------------------------------------

    def context(self, run_id: str, client: ApiClient | None = None) -> SyncContext:
        return SyncContext(
            run_id=run_id,
            config=self.config,
            log=self.log.bind(run_id=run_id),
            plugin_settings=self.plugins.settings,
            client=client,
            store=self.store,
            extras=self.extras,
        )

    @property
    def unavailable_families(self) -> set[str]:
        """Plugins that exist but could not load: their entities are kept, never deleted for that."""
        return {r.name for r in self.plugins.records.values() if r.error is not None}

    # --- build without side effects (export) ---------------------------------------------------

    async def export(self, run_id: str | None = None) -> tuple[dict[EntityRef, Entity], Build]:
        """fetch -> map -> relate, touching no store and no output."""
        run_id = run_id or new_run_id()
        async with self.client_factory() as client:
            ctx = self.context(run_id, client)
            build = await fetch_and_map(self.plugins, ctx)
        relate_entities(build.entities, self.plugins, ctx).graph.attach(build.entities)
        return build.entities, build

    # --- a full run ----------------------------------------------------------------------------

    async def run(self, *, trigger: str = "schedule", run_id: str | None = None) -> RunResult:
        run_id = run_id or new_run_id()
        record = RunRecord(run_id=run_id, started_at=utcnow(), trigger=trigger)
        structlog.contextvars.bind_contextvars(run_id=run_id)
        log = self.log.bind(run_id=run_id)
        timeout = self.config.openchoreo.schedule.timeout
        log.info("sync run started", trigger=trigger)
        fetch_started = time.monotonic()
        gc_was_enabled = gc.isenabled()
        # A run allocates hundreds of thousands of long-lived dicts; the cyclic collector would
        # re-scan all of them again and again (a third of map+relate time). They hold no cycles
        # and are freed by reference counting, so collection waits until the run is over.
        gc.disable()
        try:
            try:
                async with asyncio.timeout(timeout):
                    async with self.client_factory() as client:
                        ctx = self.context(run_id, client)
                        build = await fetch_and_map(self.plugins, ctx)
            except TimeoutError:
                record.status = "timed_out"
                record.finished_at = utcnow()
                record.summary = {
                    "error": f"the run did not finish within openchoreo.schedule.timeout ({timeout} s); "
                    "it was cancelled and the last good catalog is unchanged",
                    "counts": {},
                    "changes": ChangeSet().summary(),
                    "failed_collections": {},
                    "failed_families": {},
                }
                log.error("sync run hung and was cancelled", timeout_seconds=timeout)
                await asyncio.to_thread(self.store.record_run, record)
                return RunResult(run_id, "timed_out", summary=record.summary)
            async with self.writer:
                return await self._settle(build, ctx, record, fetch_started)
        finally:
            forget_memos()
            if gc_was_enabled:
                gc.enable()
                gc.collect()  # whatever cyclic garbage the run left goes now, not during the next run
            structlog.contextvars.unbind_contextvars("run_id")

    async def _settle(self, build: Build, ctx: SyncContext, record: RunRecord, fetch_started: float) -> RunResult:
        log = ctx.log
        store = self.store
        safety = self.config.openchoreo.safety
        previous = await asyncio.to_thread(store.load_index)
        pending_before = await asyncio.to_thread(store.pending_removals)
        stored_streaks = await asyncio.to_thread(store.meta_value, EMPTY_STREAKS)
        streaks = json.loads(stored_streaks) if stored_streaks else {}
        empty_approval, released = await asyncio.to_thread(self._released_empty_collections)
        plan = plan_reconcile(
            previous,
            build,
            unavailable_families=self.unavailable_families,
            pending_before=pending_before,
            grace_runs=safety.deletion_grace_runs,
            max_deletion_ratio=safety.max_deletion_ratio,
            empty_streaks_before=streaks,
            empty_runs=1 if safety.allow_mass_deletion else safety.empty_collection_runs,
            released_empty=released,
        )
        for reason in plan.empty_reasons:
            log.warning("empty collection held; its entities are kept", reason=reason)
        # An event delta committed while this run was fetching is newer than what the run saw.
        newer = {ref for ref, at in self.delta_touched.items() if at >= fetch_started}
        for ref in newer:
            build.entities.pop(ref, None)
            plan.removed.discard(ref)
            plan.pending.pop(ref, None)
            plan.carried.discard(ref)
        self.delta_touched = {ref: at for ref, at in self.delta_touched.items() if at >= fetch_started}
        enabled_families = {r.name for r in self.plugins.enabled()}
        if not build.collections_ok and (build.families_failed or build.collections_failed):
            return await self._finish_without_commit(record, build, plan, "failed", log)

        approval = None
        if plan.guard_reasons and not safety.allow_mass_deletion:
            approval = await asyncio.to_thread(self._matching_approval, plan.removed)
            if approval is None:
                return await self._finish_without_commit(record, build, plan, "guarded", log)

        t0 = time.perf_counter()
        kept_refs = plan.carried | set(plan.pending) | (newer & previous.keys())
        kept = await asyncio.to_thread(store.load_bodies, kept_refs) if kept_refs else {}
        times = await asyncio.to_thread(store.collection_times) if plan.carried else {}
        entities = build.entities
        for ref, body in kept.items():
            body.pop("relations", None)
            annotations = body.setdefault("metadata", {}).setdefault("annotations", {})
            annotations.pop(STALE_ANNOTATION, None)
            if ref in plan.carried:
                annotations[STALE_ANNOTATION] = times.get(previous[ref].collection, "unknown")
            entities[ref] = body
        key_names: dict[CollectionKey, str] = {}

        def origin_of(ref: EntityRef) -> Origin:
            """Computed as each write is made: a table of it would cost a tuple and a string per entity."""
            if ref in kept:
                before = previous[ref]
                return before.collection, before.family, before.source
            key = build.origin[ref]
            name = key_names.get(key)
            if name is None:
                name = key_names[key] = str(key)
            return name, key.family, build.source.get(ref, "")

        relate_report = relate_entities(entities, self.plugins, ctx)
        relate_seconds = time.perf_counter() - t0

        changes = ChangeSet(removed=sorted(plan.removed))
        if changes.removed:
            changes.removed_entities = await asyncio.to_thread(store.load_bodies, changes.removed)

        degraded = build.families_failed or build.collections_failed or build.skipped or plan.empty_held
        status = "partial" if degraded else "ok"
        record.status = status
        record.finished_at = utcnow()

        def summarize() -> None:  # once the store has consumed the writes, the change set is known
            record.summary = self._summary(build, plan, relate_report, changes, relate_seconds, enabled_families)

        commit = Commit(
            run=record,
            writes=iter_writes(entities, previous, origin_of, changes, plan.carried, relate_report.graph),
            before_run_record=summarize,
            removals=changes.removed,
            collections_ok=dict.fromkeys(set(build.collections_ok) - set(plan.empty_held), record.started_at),
            collections_failed=dict(build.collections_failed),
            pending_removals=plan.pending,
            consumed_approval=approval or (empty_approval if released else None),
            meta={EMPTY_STREAKS: json.dumps(plan.empty_streaks, sort_keys=True)},
        )
        t1 = time.perf_counter()
        await asyncio.shield(asyncio.to_thread(store.commit, commit))
        record.summary["seconds"]["commit"] = round(time.perf_counter() - t1, 3)
        del commit  # with it the index of the previous snapshot goes: only the commit needed it
        previous, kept = {}, {}
        log.info(
            "sync run finished",
            status=status,
            entities=len(entities),
            **changes.summary(),
            failed_collections=len(build.collections_failed),
            failed_families=sorted(build.families_failed),
            skipped=build.skipped,
        )
        reports: dict[str, OutputReport] = {}
        self._log_dangling(relate_report, log)
        outputs = await self.emit(
            MemorySnapshot(record.run_id, entities, relate_report.graph), changes, ctx, reports=reports
        )
        if outputs:
            record.summary["outputs"] = outputs
            problems = {name: list(r.problems) for name, r in reports.items() if r.problems}
            details = {name: r.details for name, r in reports.items() if r.details}
            if problems:
                record.summary["output_problems"] = problems
            if details:
                record.summary["output_details"] = details
            if status == "ok" and (problems or any(v.startswith("failed") for v in outputs.values())):
                status = record.status = "partial"  # the catalog is committed, but an output lags behind
            await asyncio.to_thread(store.record_run, record)
        return RunResult(record.run_id, status, changes, record.summary, entities, relate_report.graph)

    def _released_empty_collections(self) -> tuple[str | None, set[str]]:
        """An approved run that held empty collections, and those collections: they may be emptied now."""
        for run_id in sorted(self.store.approvals()):
            approved = self.store.get_run(run_id)
            if approved is not None and approved.summary.get("empty_held"):
                return run_id, set(approved.summary["empty_held"])
        return None, set()

    def _log_dangling(self, report: RelateReport, log: Any) -> None:
        """Say once per change which references point at nothing (counts by relation and kind)."""
        counts = dict(sorted(report.dangling.items()))
        if counts == self.dangling_logged:
            return
        self.dangling_logged = counts
        if counts:
            log.warning(
                "references to entities no source provides (Backstage shows them as dangling)",
                total=sum(counts.values()),
                by_relation=counts,
            )
        else:
            log.info("no dangling references left")

    def _matching_approval(self, removed: set[EntityRef]) -> str | None:
        """An approved guarded run whose planned removals cover this run's removals."""
        for run_id in self.store.approvals():
            approved = self.store.get_run(run_id)
            if approved is None:
                continue
            planned = set(approved.summary.get("planned_removals", []))
            if removed <= planned:
                return run_id
        return None

    async def _finish_without_commit(
        self, record: RunRecord, build: Build, plan: Plan, status: str, log: Any
    ) -> RunResult:
        record.status = status
        record.finished_at = utcnow()
        record.summary = {
            "counts": build.kind_counts(),
            "changes": ChangeSet().summary(),
            "failed_collections": build.collections_failed,
            "failed_families": build.families_failed,
            "problems": build.problems,
            "skipped": build.skipped,
        }
        if status == "guarded":
            record.summary["guard"] = plan.guard_reasons
            record.summary["planned_removals"] = sorted(plan.removed)
            log.error(
                "deletion guard: run not applied; the catalog is unchanged",
                would_remove=len(plan.removed),
                reasons=plan.guard_reasons,
                confirm=f"openchoreo-sync approve-deletions {record.run_id}",
                or_set="openchoreo.safety.allowMassDeletion: true",
            )
        else:
            log.error(
                "sync run failed; the catalog is unchanged",
                failures=build.families_failed or build.collections_failed,
            )
        await asyncio.to_thread(self.store.record_run, record)
        return RunResult(record.run_id, status, summary=record.summary)

    def _summary(
        self,
        build: Build,
        plan: Plan,
        relate_report: RelateReport,
        changes: ChangeSet,
        relate_seconds: float,
        enabled_families: set[str],
    ) -> dict[str, Any]:
        return {
            "counts": build.kind_counts(),
            "resources": build.resources,
            "carried": len(plan.carried),
            "empty_held": plan.empty_held,
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
            "replica": f"{socket.gethostname()}:{os.getpid()}",
            "seconds": {
                "fetch": round(build.fetch_seconds, 3),
                "map": round(build.map_seconds, 3),
                "relate": round(relate_seconds, 3),
            },
        }

    # --- emit ----------------------------------------------------------------------------------

    async def emit(
        self,
        snapshot: MemorySnapshot,
        changes: ChangeSet,
        ctx: SyncContext,
        *,
        reports: dict[str, OutputReport] | None = None,
    ) -> dict[str, str]:
        """Hand the snapshot to every output; an output that fails gets a full reconcile next time.

        An output returning an :class:`OutputReport` with problems is recorded as ``partial`` (it
        published, its target refused part of it); its report lands in ``reports``.
        """
        results: dict[str, str] = {}
        impls = self.plugins.impls("emit")
        if not impls:
            return results

        async def one(impl: Any) -> None:
            name = impl.plugin_name
            _, needs_full = await asyncio.to_thread(self.store.output_state, name)
            own = (
                changes
                if not needs_full
                else ChangeSet(changes.added, changes.changed, changes.removed, changes.removed_entities, full=True)
            )
            record = self.plugins.records.get(name)
            every_run = record is not None and record.info is not None and record.info.emit_every_run
            if own.empty and not every_run:
                return
            try:
                outcome = call_impl(impl, snapshot=snapshot, changes=own, ctx=ctx)
                if asyncio.iscoroutine(outcome) or isinstance(outcome, asyncio.Future):
                    outcome = await asyncio.wait_for(outcome, self.config.openchoreo.schedule.timeout)
            except Exception as exc:  # the output catches up with a full reconcile next run
                results[name] = f"failed: {describe_error(exc)}"
                ctx.log.error(
                    "output failed; it will be fully reconciled next run",
                    output=name,
                    error=describe_error(exc),
                )
                await asyncio.to_thread(self.store.set_output_state, name, snapshot.run_id, True)
                return
            results[name] = "full" if own.full else "ok"
            if isinstance(outcome, OutputReport):
                if reports is not None:
                    reports[name] = outcome
                if outcome.problems:
                    results[name] = f"partial: {len(outcome.problems)} problem(s), see output_problems"
            await asyncio.to_thread(self.store.set_output_state, name, snapshot.run_id, False)

        await asyncio.gather(*(one(i) for i in impls))
        return results

    async def stored_snapshot(self) -> MemorySnapshot:
        bodies = await asyncio.to_thread(lambda: dict(self.store.all_bodies()))
        version = await asyncio.to_thread(self.store.snapshot_version)
        return MemorySnapshot(version or "", bodies)
