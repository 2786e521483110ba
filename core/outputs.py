"""Hand a committed snapshot to every output plugin, and remember which need a full reconcile.

Outputs run concurrently; one that fails (or hangs past ``schedule.timeout``) is recorded as
failed for the run and gets ``changes.full`` next time, so it catches up with everything it
missed. An output is called only when there is something for it: changes, or a pending full
reconcile.
"""

from __future__ import annotations

import asyncio

from .build import describe_error
from .context import SyncContext
from .hooks import Implementation
from .output_report import OutputReport
from .plugins_manager import LoadedPlugins
from .snapshot import ChangeSet, SnapshotView
from .store.base import StateStore


class Outputs:
    def __init__(self, plugins: LoadedPlugins, store: StateStore, timeout: float) -> None:
        self.plugins = plugins
        self.store = store
        self.timeout = timeout

    async def emit(
        self,
        snapshot: SnapshotView,
        changes: ChangeSet,
        ctx: SyncContext,
        *,
        reports: dict[str, OutputReport] | None = None,
    ) -> dict[str, str]:
        """``{output: "ok" | "full" | "partial: ..." | "failed: <reason>"}`` for every output called.

        An output returning an :class:`OutputReport` with problems is recorded as ``partial`` (it
        published, its target refused part of it); its report lands in ``reports``.
        """
        results: dict[str, str] = {}

        async def one(output: Implementation) -> None:
            name = output.plugin
            _, needs_full = await asyncio.to_thread(self.store.output_state, name)
            own = (
                changes
                if not needs_full
                else ChangeSet(
                    changes.added, changes.changed, changes.removed, changes.removed_entities, True, changes.event
                )
            )
            record = self.plugins.records.get(name)
            every_run = record is not None and record.info is not None and record.info.emit_every_run
            if own.empty and not every_run:
                return
            try:
                outcome = output(snapshot=snapshot, changes=own, ctx=ctx)
                if asyncio.iscoroutine(outcome) or isinstance(outcome, asyncio.Future):
                    outcome = await asyncio.wait_for(outcome, self.timeout)
            except Exception as exc:  # the output catches up with a full reconcile next run
                results[name] = f"failed: {describe_error(exc)}"
                ctx.log.error(
                    "output failed; it will be fully reconciled next run", output=name, error=describe_error(exc)
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

        await asyncio.gather(*(one(output) for output in self.plugins.each("emit")))
        return results
