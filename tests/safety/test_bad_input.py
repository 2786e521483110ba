"""Bad input from the API: reported with the resource and the reason, skipped, nothing already synced lost.

Items the mock's world API would refuse (a number as a name, a string as an item) are put straight
into the mock's current snapshot of a collection, so they go over real HTTP exactly as written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from safety_helpers import FAST_CLIENT, SMALL, bare, fresh_sync, is_stale, reset_world

from openchoreo_sync import hookimpl
from openchoreo_sync.mockapi import MockOpenChoreo, build_world
from openchoreo_sync.mockapi.world import Snapshot
from openchoreo_sync.model import Collection, Resource
from openchoreo_sync.plugin_info import PluginInfo
from openchoreo_sync.testing.harness import SyncHarness, deep_merge
from openchoreo_sync.validation import entity_problems

NS = build_world(SMALL).namespaces()[0]


def inject(mock: MockOpenChoreo, collection: str, namespace: str, raw: dict[str, Any]) -> None:
    """Add raw (possibly ill-typed) items to a collection's current snapshot, keyed for ordering."""
    world = mock.world
    with world._lock:
        col = world._cols[(collection, namespace)]
        items = {**col.current.items, **raw}
        world._rv += 1
        col.history.append(Snapshot(world._rv, sorted(items), items))


def env_like(mock: MockOpenChoreo, name: Any, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(mock.world.items("environments", NS)[0])
    body["metadata"] = {**body["metadata"], "name": name, **changes}
    return body


@pytest.fixture(scope="module")
def shared_mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(SMALL) as mock:
        yield mock


@pytest.fixture
def mock(shared_mock: MockOpenChoreo) -> MockOpenChoreo:
    reset_world(shared_mock)
    return shared_mock


async def _baseline(mock: MockOpenChoreo, tmp_path: Path, overrides: dict | None = None, **kw: Any):
    harness = SyncHarness(mock.url, tmp_path / "daemon", deep_merge(FAST_CLIENT, overrides or {}), **kw)
    first = await harness.run()
    assert first.status == "ok", first.summary
    return harness, harness.entities()


def _good_change(mock: MockOpenChoreo) -> str:
    """A legitimate update in the same collection: the run must still apply it."""
    env = mock.world.items("environments", NS)[1]
    env["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = "updated next to bad input"
    mock.world.put("environments", NS, env)
    return env["metadata"]["name"]


# --- items that are skipped ---------------------------------------------------------------------

INVALID_NAME = "is not a valid Backstage entity name"
SKIPPED_ITEMS: dict[str, tuple[Any, tuple[str, ...]]] = {
    # case: (body, words the problem must contain: the resource's name as far as it has one, the reason)
    "metadata-not-object": ("not-an-object", ("<unreadable metadata>", "cannot be mapped")),
    "name-a-number": ({"metadata": {"name": 12345}}, ("12345", INVALID_NAME)),
    "missing-metadata": ({"spec": {"isProduction": True}}, ("<unnamed>", INVALID_NAME)),
    "missing-name": ({"metadata": {"annotations": {}}}, ("<unnamed>", INVALID_NAME)),
    "name-invalid-for-backstage": ({"metadata": {"name": "bad name!"}}, ("bad name!", INVALID_NAME)),
    "name-too-long": ({"metadata": {"name": "x" * 80}}, ("x" * 80, INVALID_NAME)),
}


@pytest.mark.parametrize("case", sorted(SKIPPED_ITEMS))
async def test_bad_item_is_reported_and_skipped(mock, tmp_path, capsys, case):
    harness, before = await _baseline(mock, tmp_path)
    try:
        body, words = SKIPPED_ITEMS[case]
        if isinstance(body, dict):
            template = env_like(mock, "template")
            body = {**{k: v for k, v in template.items() if k != "metadata"}, **body}
        else:
            body = {**env_like(mock, "meta-str"), "metadata": body}
        inject(mock, "environments", NS, {"zz-bad-item": body})
        updated = _good_change(mock)
        capsys.readouterr()

        result = await harness.run()
        log = capsys.readouterr().out
        assert result.status == "partial", result.summary
        problems = result.summary["problems"]
        assert len(problems) == 1, problems
        problem = problems[0]
        assert "Environment" in problem and all(w in problem for w in words), problem
        assert "resource skipped" in log and words[0] in log, "the problem is not in the log"
        # Nothing already synced is lost; the legitimate change is applied.
        after = harness.entities()
        assert set(before) <= set(after), sorted(set(before) - set(after))
        ref = f"environment:{NS}/{updated}"
        assert after[ref]["metadata"]["description"] == "updated next to bad input"
        assert not any(is_stale(e) for e in after.values())
        # The record says so too.
        record = harness.store.get_run(result.run_id)
        assert record.summary["problems"] == problems and record.summary["skipped"] == 1
    finally:
        await harness.close()


async def test_previously_synced_item_that_turns_bad_is_kept(mock, tmp_path):
    """A good object that comes back broken is not a deletion: its last good entity stays."""
    harness, before = await _baseline(mock, tmp_path)
    try:
        victim = mock.world.items("environments", NS)[0]
        name = victim["metadata"]["name"]
        ref = f"environment:{NS}/{name}"
        assert ref in before
        inject(mock, "environments", NS, {name: {**victim, "metadata": "garbage"}})
        updated = _good_change(mock)

        result = await harness.run()
        assert result.status == "partial", result.summary
        after = harness.entities()
        assert ref in after, "an entity was deleted because its upstream object became invalid"
        assert bare(after[ref]) == bare(before[ref])
        assert set(before) <= set(after)
        assert after[f"environment:{NS}/{updated}"]["metadata"]["description"] == "updated next to bad input"

        # Fixed upstream: converges.
        mock.world.put("environments", NS, victim)
        assert (await harness.run()).status == "ok"
        truth, _ = await fresh_sync(mock.url, tmp_path / "truth", FAST_CLIENT)
        assert harness.entities() == truth
    finally:
        await harness.close()


async def test_duplicate_names_are_reported_once_and_one_is_kept(mock, tmp_path):
    harness, before = await _baseline(mock, tmp_path)
    try:
        inject(
            mock,
            "environments",
            NS,
            {"dup-a": env_like(mock, "twin"), "dup-b": env_like(mock, "twin")},
        )
        result = await harness.run()
        assert result.status == "partial"
        problems = result.summary["problems"]
        assert len(problems) == 1 and "twin" in problems[0] and "duplicate" in problems[0], problems
        after = harness.entities()
        assert f"environment:{NS}/twin" in after
        assert set(before) <= set(after)
    finally:
        await harness.close()


# --- pages that cannot be used at all: the collection fails and is carried ---------------------


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("malformed-json", "not valid JSON"),
        ("items-an-object", "'items' is a dict"),
        ("item-a-string", "items[0] is a str"),
        ("over-max-response-bytes", "maxResponseBytes"),
    ],
)
async def test_unusable_page_fails_its_collection_and_keeps_it(mock, tmp_path, capsys, case, reason):
    overrides = {"openchoreo": {"client": {"maxResponseBytes": 64 * 1024}}}
    harness, before = await _baseline(mock, tmp_path, overrides)
    try:
        path = f"^/api/v1/namespaces/{NS}/environments$"
        if case == "malformed-json":
            mock.faults.add(path=path, action="malformed")
        elif case == "items-an-object":
            mock.faults.add(path=path, action="wrong_types")
        elif case == "item-a-string":
            inject(mock, "environments", NS, {"0000": "just a string"})
        else:
            inject(mock, "environments", NS, {"huge": env_like(mock, "huge", annotations={"x/y": "z" * 200_000})})
        _good_change(mock)
        trait = mock.world.items("clustertraits")[0]
        trait["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = "changed elsewhere"
        mock.world.put("clustertraits", "", trait)
        capsys.readouterr()
        result = await harness.run()
        log = capsys.readouterr().out
        mock.faults.reset()

        assert result.status == "partial", result.summary
        key = f"namespaces:{NS}/environments"
        assert set(result.summary["failed_collections"]) == {key}
        error = result.summary["failed_collections"][key]
        assert reason in error and "environments" in error, error
        assert key in log and reason.split("'")[0] in log
        after = harness.entities()
        assert set(before) <= set(after)
        for ref, entity in after.items():
            if ref.startswith(f"environment:{NS}/"):
                assert is_stale(entity) and bare(entity) == bare(before[ref])
        # The run went on: the other collection's change is in.
        traits = [e for e in after.values() if e["kind"] == "ClusterTraitType"]
        assert [t["metadata"].get("description") for t in traits] == ["changed elsewhere"], traits
    finally:
        await harness.close()


# --- unknown kinds --------------------------------------------------------------------------------


class AlienFamily:
    """A third-party family that yields a kind no plugin maps."""

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="yields unknown kinds (test)")

    @hookimpl
    def fetch(self, ctx):
        async def gen():
            yield Collection(
                "aliens",
                None,
                [Resource("Alien", {"metadata": {"name": f"et-{i}"}}) for i in range(3)],
            )

        return gen()


async def test_unknown_kind_is_reported_once_and_skipped(mock, tmp_path, capsys):
    plain = SyncHarness(mock.url, tmp_path / "plain", FAST_CLIENT)
    harness = SyncHarness(mock.url, tmp_path / "daemon", FAST_CLIENT, extra_plugins=[("aliens", AlienFamily())])
    try:
        assert (await plain.run()).status == "ok"
        capsys.readouterr()
        result = await harness.run()
        log = capsys.readouterr().out
        assert result.status == "partial"
        problems = result.summary["problems"]
        assert problems == ["Alien et-0: no enabled plugin maps kind 'Alien'; skipped"], problems
        assert result.summary["skipped"] == 3
        assert "no enabled plugin maps kind" in log
        # Everything the known families produce is there, exactly as without the stranger.
        assert harness.entities() == plain.entities()
    finally:
        await harness.close()
        await plain.close()


# --- values the mappers coerce, and values only a plugin could make invalid ----------------------


async def test_ill_typed_optional_values_do_not_cost_the_item(mock, tmp_path):
    """A number where a display name belongs, or a label value Backstage would refuse: the mapper
    does not copy them into the entity, so the item is synced and the entity is valid."""
    harness, before = await _baseline(mock, tmp_path)
    try:
        odd = env_like(
            mock,
            "odd-values",
            annotations={"openchoreo.dev/display-name": 7, "openchoreo.dev/description": ["a", "list"]},
            labels={"openchoreo.dev/tier": "not a label value!"},
        )
        inject(mock, "environments", NS, {"odd-values": odd})
        result = await harness.run()
        assert result.status == "ok", result.summary
        entity = harness.entities()[f"environment:{NS}/odd-values"]
        assert entity_problems(entity) == []
        assert set(before) <= set(harness.entities())
    finally:
        await harness.close()


class Vandal:
    """A decorate_entity plugin that makes one entity invalid for Backstage in a chosen way."""

    def __init__(self) -> None:
        self.target: str | None = None
        self.damage: dict[str, Any] = {}

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="breaks one entity (test)")

    @hookimpl
    def decorate_entity(self, entity, resource) -> None:
        if entity["metadata"]["name"] == self.target and entity["kind"] == "Environment":
            for key, value in self.damage.items():
                if key in ("annotations", "labels"):
                    entity["metadata"].setdefault(key, {}).update(value)
                else:
                    entity["metadata"][key] = value


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ({"annotations": {"openchoreo.io/count": 3}}, "must be a string"),
        ({"annotations": {"not a key!": "x"}}, "not a valid [prefix/]name key"),
        ({"labels": {"openchoreo.io/tier": "no spaces allowed"}}, "not a valid label value"),
        ({"tags": ["Upper Case"]}, "metadata.tags entry"),
        ({"title": 42}, "metadata.title must be a string"),
    ],
    ids=["annotation-value-number", "annotation-key-invalid", "label-value", "tag", "title-number"],
)
async def test_entity_invalid_for_backstage_is_reported_and_its_last_good_version_kept(mock, tmp_path, damage, reason):
    vandal = Vandal()
    harness, before = await _baseline(mock, tmp_path, extra_plugins=[("vandal", vandal)])
    try:
        victim = mock.world.items("environments", NS)[0]["metadata"]["name"]
        vandal.target, vandal.damage = victim, damage
        result = await harness.run()
        assert result.status == "partial"
        problems = result.summary["problems"]
        assert len(problems) == 1 and victim in problems[0] and reason in problems[0], problems
        after = harness.entities()
        ref = f"environment:{NS}/{victim}"
        assert is_stale(after[ref]) and bare(after[ref]) == bare(before[ref])
        assert set(after) == set(before)
        vandal.target = None
        assert (await harness.run()).status == "ok"
        assert not is_stale(harness.entities()[ref])
    finally:
        await harness.close()
