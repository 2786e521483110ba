"""The single writer of the committed snapshot, shared by full runs and event deltas.

Both take ``lock`` for everything from reconcile to emit, so they never interleave on one
snapshot. A delta records when it committed each ref; a full run that fetched before then keeps
the delta's (newer) version instead of overwriting it with what it saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from .config import SafetyConfig
from .model import EntityRef
from .outputs import Outputs
from .plugins_manager import LoadedPlugins
from .store.base import Commit, StateStore


async def apply_commit(store: StateStore, commit: Commit) -> None:
    """``store.commit`` on a worker thread, shielded (a cancelled caller leaves it to finish),
    then :meth:`Commit.release`.

    Why the release: the thread pool drops its work item, and with it this commit, only after the
    caller has been woken, so a caller's ``del commit`` could leave the run's entities, the old
    index and the mapped catalog alive into the collection that ends the run (seen as a flaky
    ``test_a_run_ends_collecting_what_outlives_it_not_the_mapped_catalog`` on a loaded machine).
    """
    await asyncio.shield(asyncio.to_thread(store.commit, commit))
    commit.release()


@dataclass
class SnapshotWriter:
    store: StateStore
    plugins: LoadedPlugins
    outputs: Outputs
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    """the deletion rules event removals obey, like full runs (``event_removals``)"""
    full_fetches: int = 0
    """full runs that started fetching since start-up (what a run fetches covers every earlier event)"""
    event_removals: int = 0
    """entities event deltas removed since the last full run committed (the deletion ratio counts them)"""
    _delta_touched: dict[EntityRef, float] = field(default_factory=dict)
    """ref -> when an event delta last committed it"""

    def mark_delta(self, refs: Iterable[EntityRef]) -> None:
        """Record that a delta just committed ``refs``."""
        stamp = time.monotonic()
        for ref in refs:
            self._delta_touched[ref] = stamp

    def newer_than(self, fetch_started: float) -> set[EntityRef]:
        """Refs a delta committed since ``fetch_started``; older marks are forgotten."""
        self._delta_touched = {ref: at for ref, at in self._delta_touched.items() if at >= fetch_started}
        return set(self._delta_touched)
