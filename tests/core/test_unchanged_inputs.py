"""A run whose inputs digest as the last clean run's skips its work, and only then (core/run_inputs.py).

Each test runs real syncs against the mock API into a real SQLite store. The skip must never
move a guarantee of docs/reliability.md: a pending removal keeps counting, a stale mark clears, an
approval, a configuration or plugin change and an output owed a full emit each force a full run.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from openchoreo_sync import Collection, Resource, hookimpl
from openchoreo_sync.client.pagination import page_part
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.plugin_info import PluginInfo
from openchoreo_sync.reconcile import STALE_ANNOTATION
from openchoreo_sync.run_inputs import RUN_INPUTS, collection_digest, load_baseline
from openchoreo_sync.store.base import Commit, RunRecord
from openchoreo_sync.testing.harness import SyncHarness, deep_merge

WORLD = WorldSpec(seed=5, namespaces=2, projects=2, components=3, example=False)
FAST = {"openchoreo": {"client": {"timeout": 2, "retries": 0, "backoffBase": 0.01}}}


class MapCounter:
    """Counts mapped entities (through ``decorate_entity``, called for each; changes nothing)."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="counts mapped entities (test plugin)", inputs_only=True)

    @hookimpl
    def decorate_entity(self, entity: Any) -> None:
        self.calls += 1


class Recorder:
    """An output that records what it was handed; fails while ``failing`` is set."""

    def __init__(self, *, every_run: bool = False) -> None:
        self.every_run = every_run
        self.failing = False
        self.calls: list[tuple[bool, int]] = []

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="records emits (test output)", emit_every_run=self.every_run)

    @hookimpl
    def emit(self, snapshot: Any, changes: Any) -> None:
        self.calls.append((changes.full, len(list(snapshot.entities()))))
        if self.failing:
            raise RuntimeError("output down")


@pytest.fixture
def mock():
    with MockOpenChoreo(WORLD) as m:
        yield m


def harness(
    mock: MockOpenChoreo, state: Path, overrides: dict[str, Any] | None = None, **plugins: object
) -> SyncHarness:
    return SyncHarness(mock.url, state, deep_merge(FAST, overrides or {}), extra_plugins=list(plugins.items()))


def skipped(result: Any) -> bool:
    return bool(result.summary.get("inputs_unchanged"))


def first_component(mock: MockOpenChoreo) -> tuple[str, dict[str, Any]]:
    namespace = sorted(ns for ns in mock.world.namespaces() if mock.world.items("components", ns))[0]
    return namespace, mock.world.items("components", namespace)[0]


async def test_a_run_with_the_same_inputs_skips_map_relate_and_writes(mock, tmp_path):
    counter = MapCounter()
    h = harness(mock, tmp_path, counter=counter)
    try:
        first = await h.run()
        assert first.status == "ok" and not skipped(first)
        mapped = counter.calls
        assert mapped > 0
        before = h.entities()
        times_before = h.store.collection_times()

        second = await h.run()
        assert second.status == "ok" and skipped(second)
        assert counter.calls == mapped, "a skipped run maps nothing"
        assert second.summary["changes"] == {"added": 0, "changed": 0, "removed": 0}
        assert second.summary["counts"] == first.summary["counts"]
        assert h.entities() == before
        assert h.store.snapshot_version() == second.run_id
        assert h.store.get_run(second.run_id).status == "ok"
        times = h.store.collection_times()
        assert set(times) == set(times_before) and all(times[k] >= times_before[k] for k in times)

        third = await h.run()  # the skip is repeatable: it stores its own digests
        assert skipped(third) and counter.calls == mapped

        namespace, body = first_component(mock)
        body["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = "edited upstream"
        mock.world.put("components", namespace, body)
        fourth = await h.run()
        assert not skipped(fourth) and counter.calls > mapped
        assert fourth.summary["changes"]["changed"] >= 1
    finally:
        await h.close()


async def test_a_stale_mark_is_cleared_by_a_full_run(mock, tmp_path):
    """A run that carried a failed collection stores no digests: the next clean fetch, with the
    very inputs of the last clean run, still runs in full and clears the stale marks."""
    h = harness(mock, tmp_path)
    try:
        assert (await h.run()).status == "ok"
        namespace, _ = first_component(mock)
        rule = mock.faults.fail(f"/namespaces/{namespace}/workloads", 500)
        carried = await h.run()
        assert carried.status == "partial" and carried.summary["carried"] > 0
        assert h.store.meta_value(RUN_INPUTS) == ""
        assert any(STALE_ANNOTATION in (e["metadata"].get("annotations") or {}) for e in h.entities().values())
        mock.faults.rules.remove(rule)

        recovered = await h.run()
        assert recovered.status == "ok" and not skipped(recovered)
        assert not any(STALE_ANNOTATION in (e["metadata"].get("annotations") or {}) for e in h.entities().values())
        assert skipped(await h.run())
    finally:
        await h.close()


async def test_pending_removals_keep_counting_and_a_return_clears_them(mock, tmp_path):
    h = harness(mock, tmp_path, {"openchoreo": {"safety": {"deletionGraceRuns": 3, "maxDeletionRatio": 1.0}}})
    try:
        assert (await h.run()).status == "ok"
        namespace, body = first_component(mock)
        name = body["metadata"]["name"]
        mock.world.delete("components", namespace, name)

        missed = await h.run()
        assert not skipped(missed) and missed.summary["pending_removal"] > 0
        refs = dict(h.store.pending_removals())
        assert refs and set(refs.values()) == {1}

        again = await h.run()  # the same inputs as the run before: the count must still move
        assert not skipped(again)
        assert set(h.store.pending_removals().values()) == {2}

        mock.world.put("components", namespace, body)  # back: the inputs are the first run's again
        back = await h.run()
        assert not skipped(back)
        assert h.store.pending_removals() == {}
    finally:
        await h.close()


async def test_an_approval_waiting_forces_a_full_run(mock, tmp_path):
    h = harness(mock, tmp_path)
    try:
        assert (await h.run()).status == "ok"
        assert load_baseline(h.store, h.engine.config, h.engine.plugins) is not None
        h.store.approve("20261201T000000-abcdef")
        assert load_baseline(h.store, h.engine.config, h.engine.plugins) is None
        assert not skipped(await h.run())
    finally:
        await h.close()


async def test_a_configuration_change_forces_a_full_run(mock, tmp_path):
    h = harness(mock, tmp_path)
    try:
        assert (await h.run()).status == "ok"
    finally:
        await h.close()
    changed = harness(mock, tmp_path, {"openchoreo": {"defaultOwner": "other-team"}})
    try:
        result = await changed.run()
        assert result.status == "ok" and not skipped(result)
        assert skipped(await changed.run())
    finally:
        await changed.close()


async def test_a_plugin_set_change_forces_a_full_run(mock, tmp_path):
    h = harness(mock, tmp_path)
    try:
        assert (await h.run()).status == "ok"
    finally:
        await h.close()
    counter = MapCounter()
    more = harness(mock, tmp_path, counter=counter)
    try:
        result = await more.run()
        assert not skipped(result) and counter.calls > 0
    finally:
        await more.close()
    fewer = harness(mock, tmp_path, {"openchoreo": {"plugins": {"templates": {"enabled": False}}}})
    try:
        result = await fewer.run()
        assert not skipped(result) and result.summary["changes"]["removed"] > 0
    finally:
        await fewer.close()


async def test_an_output_owed_a_full_emit_forces_a_full_run(mock, tmp_path):
    recorder = Recorder()
    h = harness(mock, tmp_path, recorder=recorder)
    try:
        recorder.failing = True
        first = await h.run()
        assert first.summary["outputs"]["recorder"].startswith("failed")
        recorder.failing = False
        assert h.store.output_state("recorder")[1] is True

        second = await h.run()
        assert not skipped(second)
        assert recorder.calls[-1][0] is True, "the output got its full re-emit"
        assert h.store.output_state("recorder")[1] is False
        clean = await h.run()
        assert skipped(clean)

        # Marked for a full emit with the run record still "ok" (as a failed emit of an event
        # delta's leaves it): the mark alone forces the full run.
        h.store.set_output_state("recorder", clean.run_id, True)
        assert h.store.get_run(clean.run_id).status == "ok"
        marked = await h.run()
        assert not skipped(marked) and recorder.calls[-1][0] is True
    finally:
        await h.close()


async def test_an_every_run_output_is_still_called_with_the_committed_snapshot(mock, tmp_path):
    recorder = Recorder(every_run=True)
    h = harness(mock, tmp_path, recorder=recorder)
    try:
        await h.run()
        entities = len(h.entities())
        result = await h.run()
        assert skipped(result)
        assert recorder.calls[-1] == (False, entities)
        assert result.summary["outputs"] == {"recorder": "ok"}
    finally:
        await h.close()


async def test_an_event_delta_since_forces_a_full_run(mock, tmp_path):
    """A delta commits a snapshot of its own: the digests no longer describe what is committed."""
    h = harness(mock, tmp_path)
    try:
        assert (await h.run()).status == "ok"
        snapshot = h.store.snapshot_version()
        h.store.commit(Commit(run=RunRecord(run_id="20261201T000001-delta0", started_at="x"), replace_pending=False))
        assert h.store.snapshot_version() != snapshot
        assert not skipped(await h.run())
    finally:
        await h.close()


async def test_beyond_the_holding_limit_collections_are_mapped_and_the_run_still_skips(mock, tmp_path, monkeypatch):
    """Raw collections held unmapped are bounded (memory): past the bound they are mapped as they
    come, and the run still skips relating and writing when every digest matched."""
    from openchoreo_sync import build

    monkeypatch.setattr(build, "DEFER_LIMIT", 5)
    counter = MapCounter()
    h = harness(mock, tmp_path, counter=counter)
    try:
        first = await h.run()
        mapped = counter.calls
        before = h.entities()
        second = await h.run()
        assert skipped(second)
        assert mapped < counter.calls < 2 * mapped, "some collections were mapped, not all"
        assert h.entities() == before and second.summary["counts"] == first.summary["counts"]
    finally:
        await h.close()


TWO_PAGES = WorldSpec(seed=5, namespaces=1, projects=6, components=20, example=False)
"""120 components and workloads in one namespace: their lists have two pages, so a cursor."""


def edited(mock: MockOpenChoreo, collection: str) -> None:
    """Put back the first object of ``collection`` with a new annotation (an upstream write)."""
    namespace = sorted(ns for ns in mock.world.namespaces() if mock.world.items(collection, ns))[0]
    body = copy.deepcopy(mock.world.items(collection, namespace)[0])
    body["metadata"].setdefault("annotations", {})["openchoreo.dev/test"] = "edited upstream"
    mock.world.put(collection, namespace, body)


def component_cursors(mock: MockOpenChoreo) -> list[str]:
    return [r.query for r in mock.stats.records if r.path.endswith("/components") and "cursor=" in r.query]


async def test_a_write_the_sync_does_not_read_moves_every_cursor_and_the_skip_holds(tmp_path):
    """A continue token names the resource version its list was read at, which any write in the
    cluster moves: the pages' digests leave the cursor out, so an unrelated write changes none."""
    with MockOpenChoreo(TWO_PAGES) as mock:
        h = harness(mock, tmp_path)
        try:
            await h.run()
            mock.stats.reset()
            assert skipped(await h.run())
            before = component_cursors(mock)
            edited(mock, "releasebindings")  # not read by the sync
            mock.stats.reset()
            third = await h.run()
            assert before and component_cursors(mock) and component_cursors(mock) != before
            assert skipped(third)
            edited(mock, "workloads")  # joined into the components collection
            fourth = await h.run()
            assert not skipped(fourth) and fourth.status == "ok"
            assert skipped(await h.run())
        finally:
            await h.close()


def test_a_page_is_digested_without_its_cursor_only_where_the_body_provably_ends_with_it():
    page = b'{"items":[{"a":"c1"}],"pagination":{"nextCursor":"c1"}}\n'
    assert page_part(page, "c1") == b'{"items":[{"a":"c1"}],"pagination":{"nextCursor":'
    assert page_part(page, "c2") == page  # not its cursor: the whole body counts
    assert page_part(page, None) == page
    escaped = b'{"items":[],"pagination":{"nextCursor":"a\\/b"}}'  # encoded unlike orjson: kept whole
    assert page_part(escaped, "a/b") == escaped


def test_resources_replaced_or_added_after_a_walk_are_digested_as_mapping_receives_them():
    resources = [Resource("Thing", {"metadata": {"name": "a"}}, "ns")]
    walked = Collection("things", "ns", resources).made_from("Thing pages")
    assert walked.inputs_digest() == "Thing pages"
    by_pages = collection_digest(walked)
    replaced = Collection("things", "ns", resources).made_from("Thing pages")
    replaced.resources = [Resource("Thing", r.body, "ns", {"schema": {"x": 1}}) for r in resources]
    assert replaced.inputs_digest() is None
    added = Collection("things", "ns", list(resources)).made_from("Thing pages")
    added.resources.append(Resource("Thing", {"metadata": {"name": "b"}}, "ns"))
    assert added.inputs_digest() is None
    digests = {
        by_pages,
        collection_digest(replaced),
        collection_digest(added),
        collection_digest(Collection("things", "ns", resources)),
    }
    assert None not in digests and len(digests) == 4


def test_resources_edited_in_place_in_the_walked_list_are_digested_as_mapping_receives_them():
    """Same list, same length: an item replaced, or a resource's context or body re-pointed."""

    def walked() -> Collection:
        things = [Resource("Thing", {"metadata": {"name": n}}, "ns") for n in ("a", "b")]
        return Collection("things", "ns", things).made_from("Thing pages")

    untouched = walked()
    assert untouched.inputs_digest() == "Thing pages"
    item_replaced = walked()
    item_replaced.resources[1] = Resource("Thing", item_replaced.resources[1].body, "ns", {"schema": {"x": 1}})
    context_set = walked()
    context_set.resources[0].context = {"schema": {"x": 1}}
    body_set = walked()
    body_set.resources[0].body = {"metadata": {"name": "a", "labels": {"x": "1"}}}
    for edited in (item_replaced, context_set, body_set):
        assert edited.inputs_digest() is None
    assert len({collection_digest(c) for c in (untouched, item_replaced, context_set, body_set)}) == 4
