"""The sync's own health, read-only, for outputs that show it (``ctx.sync_status``, ``ctx.event_queue``).

An output that reports on the sync (a status page, a chat notifier) reads what ``openchoreo-sync
status`` reads: the run records (outcome, counts, changes, failed collections and families, phase
durations, guard reasons and planned removals, each output's result), the pending removals, when
each collection was last fetched completely, approved guarded runs and each output's progress. The
store the daemon runs on implements :class:`SyncStatusReader`; the daemon's event queue implements
:class:`EventQueueState` (None when events are off or outside the daemon). Nothing here writes.

Example (an output that warns when the last run was held by the deletion guard)::

    from openchoreo_sync.kit import hookimpl

    @hookimpl
    def on_startup(ctx):
        status = ctx.sync_status
        runs = status.recent_runs(1) if status is not None else []
        if runs and runs[0].status == "guarded":
            ctx.log.warning("held", approve=f"openchoreo-sync approve-deletions {runs[0].run_id}")
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Protocol

from ..model import EntityRef
from ..store.base import RunRecord

__all__ = ["RUN_STATUSES", "EventQueueState", "RunRecord", "SyncStatusReader"]

RUN_STATUSES = ("running", "ok", "partial", "failed", "guarded", "timed_out")
"""What ``RunRecord.status`` says; ``summary`` keys are described in docs/hooks.md (kit.sync_status)."""


class SyncStatusReader(Protocol):
    """Read access to the run records and the reconcile state. Calls block (database reads)."""

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest ``limit`` runs, newest first."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def pending_removals(self) -> dict[EntityRef, int]:
        """Entities absent from a complete view, kept for the grace period: ref -> misses so far."""
        ...

    def collection_times(self) -> dict[str, str]:
        """Collection key -> when it was last fetched completely (ISO time)."""
        ...

    def approvals(self) -> set[str]:
        """Guarded runs approved with ``approve-deletions`` and not yet applied."""
        ...

    def output_state(self, name: str) -> tuple[str | None, bool]:
        """An output's last emitted run id, and whether it needs a full reconcile next run."""
        ...


class EventQueueState(Protocol):
    """The daemon's event queue, as it stands."""

    @property
    def stats(self) -> Mapping[str, int]:
        """Counters since start: received, coalesced, refetched, applied, ignored, failed, overflows,
        unconfirmed, held, absorbed, rejected (docs/metrics.md says what each counts)."""
        ...

    @property
    def pending(self) -> Sized:
        """Resources waiting for their debounce to end (its ``len`` is the queue depth)."""
        ...
