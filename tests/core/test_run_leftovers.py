"""What survives a finished run: the outcome, never the run's entities, ref lists or memoised strings.

Long-lived leftovers are a memory problem twice over: their own size, and the allocator arenas
they pin (a few thousand scattered strings keep a whole run's memory from being reused or given
back). See docs/performance.md.
"""

from __future__ import annotations

import gc
import platform
import sys
import uuid
from typing import Any

from openchoreo_sync import PluginInfo, hookimpl, validation
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


class Marker:
    """Stamps every entity of a run with a token, so the test can find exactly that run's dicts."""

    def __init__(self, token: str) -> None:
        self.token = token

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="marks entities")

    @hookimpl
    def decorate_entity(self, entity: dict[str, Any]) -> None:
        entity["metadata"].setdefault("annotations", {})[MARK] = self.token


MARK = "test.example/run-marker"


async def test_a_run_s_entities_die_with_its_result(mock_openchoreo, sync_harness_factory):
    token = uuid.uuid4().hex
    harness = sync_harness_factory(mock_openchoreo.url, extra_plugins=[("marker", Marker(token))])
    result = await harness.run()
    assert len(result.entities) == len(marked_dicts(token)) > 0
    harness.results.clear()
    del result
    gc.collect()
    assert marked_dicts(token) == []


def marked_dicts(token: str) -> list[dict[str, Any]]:
    """Entity dicts of the marked run still alive anywhere in the process."""
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, dict)
        and isinstance(o.get("metadata"), dict)
        and (o["metadata"].get("annotations") or {}).get(MARK) == token
    ]


def test_free_memory_goes_back_where_the_c_library_allows() -> None:
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert release_free_memory() is glibc
