"""What survives a finished run: the outcome, never the run's entities, ref lists or memoised strings.

Long-lived leftovers are a memory problem twice over: their own size, and the allocator arenas
they pin (a few thousand scattered strings keep a whole run's memory from being reused or given
back). See docs/performance.md.
"""

from __future__ import annotations

import gc
import sys

from openchoreo_sync import validation
from openchoreo_sync.memory import release_free_memory


async def test_the_daemon_keeps_the_outcome_without_ref_lists(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url)
    result = await harness.run()
    assert result.changes.added, "the first run adds entities"
    last = harness.daemon.state.last
    assert last is not None
    assert (last.run_id, last.status) == (result.run_id, result.status)
    assert last.summary["changes"]["added"] == len(result.changes.added)
    assert not last.changes.added and not last.entities and last.relations is None


async def test_validation_memos_are_empty_after_a_run(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url)
    validation.is_tag("warm-up")
    assert any(memo.cache_info().currsize for memo in validation._MEMOS)
    await harness.run()
    assert all(memo.cache_info().currsize == 0 for memo in validation._MEMOS)


async def test_a_run_s_entities_die_with_its_result(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url)
    result = await harness.run()
    run_entities = len(result.entities)
    assert run_entities == len(live_entities()) > 0
    harness.results.clear()
    del result
    gc.collect()
    assert live_entities() == []


def live_entities() -> list[dict[str, object]]:
    """Entity dicts anywhere in the process (the mock serves OpenChoreo objects, never these)."""
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, dict) and str(o.get("apiVersion", "")).startswith("backstage.io/") and "spec" in o
    ]


def test_free_memory_goes_back_where_the_c_library_allows() -> None:
    assert release_free_memory() is sys.platform.startswith("linux")
