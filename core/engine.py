"""One sync run: fetch -> map -> reconcile with the last good snapshot -> relate -> commit -> emit.

Orchestration only: each step lives in its own module (``build``: fetch and map; ``reconcile``:
what the run keeps, carries and removes; ``relate``: the relation graph; ``serialization``: the
writes; ``run_records``: the summaries; ``outputs``: emit). The engine owns the
:class:`~openchoreo_sync.writer.SnapshotWriter` shared with event deltas, so full runs and deltas
never interleave on one snapshot.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import structlog

from . import gcpause
from .build import Build, fetch_and_map
from .config import AppConfig
from .context import ApiClient, Services, SyncContext
from .errors import StoreError
from .memory import release_free_memory
from .model import Entity, EntityRef
from .output_report import OutputReport
from .outputs import Outputs
from .plugins_manager import LoadedPlugins
from .reconcile import Plan, keep_bodies, matching_approval, origin_lookup, plan_reconcile, yield_to_deltas
from .relate import RelateReport, relate_entities
from .run_inputs import RUN_INPUTS, Baseline, fingerprint, inputs_record, load_baseline, mapping_is_pure
from .run_records import (
    RunResult,
    applied_replica,
    applied_summary,
    new_run_id,
    timed_out_summary,
    unapplied_summary,
)
from .serialization import iter_writes
from .snapshot import ChangeSet, MemorySnapshot, SnapshotView
from .store.base import Commit, IndexEntry, RunRecord, StateStore
from .store.sql import utcnow
from .store.staging import FirstCommitStage
from .store_snapshot import StoreSnapshot
from .validation import forget_memos
from .writer import SnapshotWriter, apply_commit

ClientFactory = Callable[[], AbstractAsyncContextManager[ApiClient]]

EMPTY_STREAKS = "empty_streaks"
"""Store meta key: collection -> consecutive runs it came back empty while holding entities."""


@dataclass
class _Outcome:
    """What the end of a run needs to know of how it went (its frame is gone by then)."""

    skipped: bool = False


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
        self.outputs = Outputs(plugins, store, config.openchoreo.schedule.timeout)
        self.writer = SnapshotWriter(store, plugins, self.outputs, safety=config.openchoreo.safety)
        self.services = Services(catalog=store, sync_status=store, enabled_kinds=plugins.enabled_kinds())
        """Shared by every context this engine makes; the daemon adds its server's URL."""
        self.dangling_logged: dict[str, int] = {}
        """The dangling-reference counts last logged: logged again only when they change."""

    def context(self, run_id: str, client: ApiClient | None = None) -> SyncContext:
        return SyncContext(
            run_id=run_id,
            config=self.config,
            log=self.log.bind(run_id=run_id),
            plugin_settings=self.plugins.settings,
            client=client,
            services=self.services,
        )

    @property
    def unavailable_families(self) -> set[str]:
        """Plugins that exist but could not load: their entities are kept, never deleted for that."""
        return {r.name for r in self.plugins.records.values() if r.error is not None}

    # --- build without side effects (export) ---------------------------------------------------

    async def export(self, run_id: str | None = None) -> tuple[dict[EntityRef, Entity], Build]:
        """fetch -> map -> relate, touching no store and no output.

        Plugins see no catalog (``ctx.catalog`` is None): an export is a fresh read of everything,
        so a collection on its own schedule (``kit.schedule``) is read too, never "unchanged".
        """
        run_id = run_id or new_run_id()
        gcpause.pause()  # as in a run: the cyclic collector would re-scan every entity dict again and again
        try:
            async with self.client_factory() as client:
                ctx = self.context(run_id, client)
                ctx.services = Services(enabled_kinds=self.services.enabled_kinds, instances=self.services.instances)
                build = await fetch_and_map(self.plugins, ctx, digests=False)
            relate_entities(build.entities, self.plugins, ctx).graph.attach(build.entities)
        finally:
            gcpause.resume()
        return build.entities, build

    # --- a full run ----------------------------------------------------------------------------

    async def run(
        self, *, trigger: str = "schedule", run_id: str | None = None, keep_entities: bool = True
    ) -> RunResult:
        """One sync run. ``keep_entities=False`` returns the result without the run's entities and
        relations (the store has them): the daemon keeps only the outcome, and the collection that
        ends the run then walks what outlives it, not the whole mapped catalog."""
        run_id = run_id or new_run_id()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        # A run allocates hundreds of thousands of long-lived dicts; the cyclic collector would
        # re-scan all of them again and again (a third of map+relate time). They hold no cycles
        # and are freed by reference counting, so collection waits until the run is over.
        gcpause.pause()
        outcome = _Outcome()
        try:
            result = await self._run_paused(trigger, run_id, outcome)
            if not keep_entities:
                result = RunResult(result.run_id, result.status, result.changes, result.summary)
            return result
        finally:
            forget_memos()
            if gcpause.resume():
                # Whatever cyclic garbage the run left goes now, not during the next run; the
                # run's frame is gone, so what is walked is what outlives it (at 10k components
                # 0.02 s without the entities, 0.1-0.16 s with them). A skipped run's is all young
                # (the fetch's): the youngest generation holds every object made since the run
                # began, and a full pass over the daemon's heap cost 0.1-0.15 s more.
                gc.collect(0 if outcome.skipped else 2)
            structlog.contextvars.unbind_contextvars("run_id")

    async def _run_paused(self, trigger: str, run_id: str, outcome: _Outcome) -> RunResult:
        record = RunRecord(run_id=run_id, started_at=utcnow(), trigger=trigger)
        log = self.log.bind(run_id=run_id)
        timeout = self.config.openchoreo.schedule.timeout
        log.debug("sync run started", trigger=trigger)  # the "finished" line is the one INFO line of a run
        fetch_started = time.monotonic()
        self.writer.full_fetches += 1  # the event queue's absorbed bursts are covered from here on
        baseline = await asyncio.to_thread(load_baseline, self.store, self.config, self.plugins)
        stage = await self._first_commit_stage()
        try:
            try:
                async with asyncio.timeout(timeout):
                    async with self.client_factory() as client:
                        ctx = self.context(run_id, client)
                        build = await fetch_and_map(
                            self.plugins,
                            ctx,
                            baseline=baseline.collections if baseline else None,
                            on_mapped=stage.add if stage is not None else None,
                        )
            except TimeoutError:
                record.status = "timed_out"
                record.finished_at = utcnow()
                record.summary = timed_out_summary(timeout)
                log.error("sync run hung and was cancelled", timeout_seconds=timeout)
                await asyncio.to_thread(self.store.record_run, record)
                return RunResult(run_id, "timed_out", summary=record.summary)
            release_free_memory()  # the API's pages and the fetched resources are gone: the heap
            # they took goes back before relate and commit build their own (the run's peak is later)
            if stage is not None:
                await stage.close_input()  # the worker finishes its rows while this run relates
            async with self.writer.lock:
                if baseline is not None and await self._inputs_unchanged(build, baseline, fetch_started):
                    outcome.skipped = True
                    return await self._settle_unchanged(build, ctx, record, baseline)
                build.map_deferred()
                return await self._settle(build, ctx, record, fetch_started, stage)
        finally:
            if stage is not None:
                await stage.discard()

    async def _first_commit_stage(self) -> FirstCommitStage | None:
        """A stage for a first sync's search rows (``store.staging``), started; None when the
        store holds entities already, does not stage, or cannot be asked (the commit will say why)."""
        try:
            stage = await asyncio.to_thread(self.store.first_commit_stage)
        except StoreError:
            return None
        if stage is not None:
            await stage.start()
        return stage

    async def _settle(
        self, build: Build, ctx: SyncContext, record: RunRecord, fetch_started: float, stage: FirstCommitStage | None
    ) -> RunResult:
        log = ctx.log
        store = self.store
        safety = self.config.openchoreo.safety
        previous, plan, empty_approval = await self.reconcile(build)
        for reason in plan.empty_reasons:
            log.warning("empty collection held; its entities are kept", reason=reason)
        newer = self.writer.newer_than(fetch_started)
        yield_to_deltas(plan, build, newer)
        enabled_families = {r.name for r in self.plugins.enabled()}
        if not build.collections_ok and (build.families_failed or build.collections_failed):
            return await self._finish_without_commit(record, build, plan, "failed", log)

        approval = None
        if plan.guard_reasons and not safety.allow_mass_deletion:
            approval = await asyncio.to_thread(matching_approval, store, plan.removed)
            if approval is None:
                return await self._finish_without_commit(record, build, plan, "guarded", log)

        t0 = time.perf_counter()
        entities = build.entities
        kept = await keep_bodies(store, plan, previous, newer, entities)
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
            record.summary = applied_summary(build, plan, relate_report, changes, relate_seconds, enabled_families)

        commit = Commit(
            run=record,
            writes=iter_writes(
                entities,
                previous,
                origin_lookup(build, kept, previous),
                changes,
                plan.carried,
                relate_report.graph,
                in_ref_order=True,
            ),
            in_ref_order=True,
            before_run_record=summarize,
            removals=changes.removed,
            collections_ok=dict.fromkeys(set(build.collections_ok) - set(plan.empty_held), record.started_at),
            collections_failed=dict(build.collections_failed),
            pending_removals=plan.pending,
            consumed_approval=approval or empty_approval,  # empty_approval: it released held collections
            meta={
                EMPTY_STREAKS: json.dumps(plan.empty_streaks, sort_keys=True),
                RUN_INPUTS: self._clean_inputs(build, plan, newer, record, degraded),
            },
        )
        t1 = time.perf_counter()
        if stage is not None:
            commit.staged = await stage.finish()
        await apply_commit(store, commit)
        self.writer.event_removals = 0  # this run saw the whole catalog: the events' window restarts
        record.summary["seconds"]["commit"] = round(time.perf_counter() - t1, 3)
        del commit  # released: the index of the previous snapshot goes (only the commit needed it)
        previous, kept = {}, {}
        release_free_memory()  # the commit's rows and that index: the emit after it is the run's peak
        log.info(
            "sync run finished",
            status=status,
            entities=len(entities),
            **changes.summary(),
            failed_collections=len(build.collections_failed),
            failed_families=sorted(build.families_failed),
            skipped=build.skipped,
        )
        self._log_dangling(relate_report, log)
        snapshot = MemorySnapshot(record.run_id, entities, relate_report.graph)
        status = await self._emit(snapshot, changes, ctx, record)
        return RunResult(record.run_id, status, changes, record.summary, entities, relate_report.graph)

    async def _emit(self, snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext, record: RunRecord) -> str:
        """Hand the committed snapshot to the outputs; the run's status (``partial`` if one lags)."""
        status = record.status
        reports: dict[str, OutputReport] = {}
        outputs = await self.outputs.emit(snapshot, changes, ctx, reports=reports)
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
            await asyncio.to_thread(self.store.record_run, record)
        return status

    # --- a run whose inputs are the last clean run's ---------------------------------------------

    def _clean_inputs(
        self, build: Build, plan: Plan, newer: set[EntityRef], record: RunRecord, degraded: object
    ) -> str:
        """The digests a later run may skip its work on, or "" (none) when this run is not clean.

        Clean: nothing failed, carried, held, kept unread, counted towards a removal or newer from
        a delta, and every collection could be digested. Only then is the committed snapshot
        exactly what mapping these inputs gives, with no stale mark or grace count to move on.
        """
        digests = build.digests
        if (
            degraded
            or plan.carried
            or plan.pending
            or plan.unchanged
            or plan.empty_held
            or plan.empty_streaks
            or newer
            or build.collections_incomplete
            or self.unavailable_families
            or not mapping_is_pure(self.plugins)
            or not digests
            or set(digests) != set(build.collections_ok)
            or any(d is None for d in digests.values())
        ):
            return ""
        return inputs_record(
            record.run_id, fingerprint(self.config, self.plugins), {k: str(v) for k, v in digests.items()}
        )

    async def _inputs_unchanged(self, build: Build, baseline: Baseline, fetch_started: float) -> bool:
        """Every collection digests as in the last clean run, and nothing else moved meanwhile."""
        if (
            build.digests != baseline.collections
            or build.families_failed
            or build.collections_failed
            or build.collections_unchanged
            or build.collections_incomplete
            or build.skipped
            or self.unavailable_families
            or self.writer.newer_than(fetch_started)
        ):
            return False
        again = await asyncio.to_thread(load_baseline, self.store, self.config, self.plugins)
        return again is not None and again.snapshot == baseline.snapshot  # no commit, approval or reset since

    async def _settle_unchanged(
        self, build: Build, ctx: SyncContext, record: RunRecord, baseline: Baseline
    ) -> RunResult:
        """Record a run that would write nothing: its collections were complete now, the rest as is.

        Only the run record, the collections' fetch times and the digests (now this run's) are
        committed; outputs that ask to be called every run get the committed snapshot from the store.
        """
        build.deferred = []  # the raw pages go now
        record.status = "ok"
        record.finished_at = utcnow()
        summary = {
            key: value
            for key, value in baseline.summary.items()
            if key not in ("outputs", "output_problems", "output_details", "seconds")
        }
        changes = ChangeSet()
        summary.update(
            changes=changes.summary(),
            added=[],
            changed=[],
            removed=[],
            inputs_unchanged=True,
            replica=applied_replica(),
            seconds={"fetch": round(build.fetch_seconds, 3), "map": round(build.map_seconds, 3), "relate": 0.0},
        )
        record.summary = summary
        commit = Commit(
            run=record,
            collections_ok=dict.fromkeys(build.collections_ok, record.started_at),
            meta={
                EMPTY_STREAKS: "{}",
                RUN_INPUTS: inputs_record(record.run_id, fingerprint(self.config, self.plugins), baseline.collections),
            },
        )
        t1 = time.perf_counter()
        await apply_commit(self.store, commit)
        record.summary["seconds"]["commit"] = round(time.perf_counter() - t1, 3)
        ctx.log.info(
            "sync run finished",
            status="ok",
            entities=sum(int(v) for v in summary.get("counts", {}).values()),
            **changes.summary(),
            inputs_unchanged=True,
        )
        status = await self._emit(StoreSnapshot(self.store, record.run_id), changes, ctx, record)
        return RunResult(record.run_id, status, changes, record.summary)

    async def reconcile(self, build: Build) -> tuple[dict[EntityRef, IndexEntry], Plan, str | None]:
        """The last snapshot's index, ``build``'s reconcile plan, and the approved run (if any) that
        releases held empty collections: what a run decides, before it commits. ``plan`` uses it too,
        so what it predicts is what the next run does."""
        store = self.store
        safety = self.config.openchoreo.safety
        previous = await asyncio.to_thread(store.load_index)
        pending_before = await asyncio.to_thread(store.pending_removals)
        stored_streaks = await asyncio.to_thread(store.meta_value, EMPTY_STREAKS)
        empty_approval, released = await asyncio.to_thread(self._released_empty_collections)
        plan = plan_reconcile(
            previous,
            build,
            unavailable_families=self.unavailable_families,
            pending_before=pending_before,
            grace_runs=safety.deletion_grace_runs,
            max_deletion_ratio=safety.max_deletion_ratio,
            empty_streaks_before=json.loads(stored_streaks) if stored_streaks else {},
            empty_runs=1 if safety.allow_mass_deletion else safety.empty_collection_runs,
            released_empty=released,
        )
        return previous, plan, empty_approval

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

    async def _finish_without_commit(
        self, record: RunRecord, build: Build, plan: Plan, status: str, log: Any
    ) -> RunResult:
        record.status = status
        record.finished_at = utcnow()
        record.summary = unapplied_summary(build, plan, status)
        if status == "guarded":
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
