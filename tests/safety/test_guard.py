"""Deletion guard, approvals through the CLI, allowMassDeletion, and the deletion grace period."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from safety_helpers import FAST_CLIENT, SMALL, fresh_sync

from openchoreo_sync import hookimpl
from openchoreo_sync.mockapi import MockOpenChoreo, build_world
from openchoreo_sync.plugin_info import PluginInfo
from openchoreo_sync.testing.harness import SyncHarness, deep_merge

SMALL_NS = build_world(SMALL).namespaces()[0]
CLI = [str(Path(sys.executable).parent / "openchoreo-sync")]
RATIO_ONLY = deep_merge(FAST_CLIENT, {"openchoreo": {"safety": {"emptyCollectionRuns": 1}}})
"""Removing ~60 % here empties whole collections, which the empty-collection guard (issue 13,
tests/hardening) would hold first; these tests are about the ratio guard, so that one is off."""


class Recorder:
    """An output plugin that remembers every snapshot it was handed."""

    def __init__(self) -> None:
        self.emitted: list[dict[str, Any]] = []

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="records emitted snapshots (test output)")

    @hookimpl
    def emit(self, snapshot, changes) -> None:
        self.emitted.append(dict(snapshot.entities()))


def write_config(harness: SyncHarness, path: Path) -> Path:
    path.write_text(yaml.safe_dump(harness.config_data))
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def mock():
    with MockOpenChoreo(SMALL) as m:
        yield m


def _remove_most(mock: MockOpenChoreo, share: float, index: dict) -> None:
    """Delete whole world collections until at least ``share`` of the catalog would go."""
    by_collection: dict[str, int] = {}
    for entry in index.values():
        by_collection[entry.collection] = by_collection.get(entry.collection, 0) + 1
    goal = share * len(index)
    doomed = 0
    for key, count in sorted(by_collection.items(), key=lambda kv: -kv[1]):
        family_ns, _, name = key.partition("/")
        if name in ("namespaces", "projects", "components", "resources") or doomed >= goal:
            continue
        namespace = family_ns.split(":")[1]
        segment = {"notificationchannels": "observabilityalertsnotificationchannels"}.get(name, name)
        for item in mock.world.items(segment, "" if namespace == "cluster" else namespace):
            mock.world.delete(segment, "" if namespace == "cluster" else namespace, item["metadata"]["name"])
        doomed += count
    assert 0.55 <= doomed / len(index) <= 0.7, doomed / len(index)


async def _guard_scenario(mock, tmp_path, capsys, breaker: str):
    recorder = Recorder()
    harness = SyncHarness(mock.url, tmp_path / "daemon", RATIO_ONLY, extra_plugins=[("recorder", recorder)])
    try:
        assert (await harness.run()).status == "ok"
        before = harness.entities()
        version = harness.store.snapshot_version()
        index = harness.store.load_index()
        emitted = len(recorder.emitted)
        if breaker == "empty-namespaces":
            for name in mock.world.namespaces():
                mock.world.delete("namespaces", "", name)
        else:
            _remove_most(mock, 0.6, index)
        capsys.readouterr()

        guarded = await harness.run()
        out = capsys.readouterr()
        log = out.out + out.err
        assert guarded.status == "guarded", guarded.summary
        # The catalog is unchanged: store, snapshot version and output.
        assert harness.entities() == before
        assert harness.store.snapshot_version() == version
        assert len(recorder.emitted) == emitted
        # The log says why and how to confirm.
        assert "deletion guard" in log
        assert f"openchoreo-sync approve-deletions {guarded.run_id}" in log
        reasons = " ".join(guarded.summary["guard"])
        if breaker == "empty-namespaces":
            assert "namespaces came back empty" in reasons
        else:
            assert "maxDeletionRatio" in reasons
        planned = set(guarded.summary["planned_removals"])
        assert planned and planned <= set(before)

        # Still guarded on the next run: nothing was approved.
        assert (await harness.run()).status == "guarded"
        assert harness.entities() == before

        config = write_config(harness, tmp_path / "app-config.yaml")
        status = cli("status", "--config", str(config))
        assert status.returncode == 0, status.stderr
        assert f"to apply: openchoreo-sync approve-deletions {guarded.run_id}" in status.stdout

        approved = cli("approve-deletions", "--config", str(config), guarded.run_id)
        assert approved.returncode == 0, approved.stderr
        assert guarded.run_id in approved.stdout

        applied = await harness.run()
        assert applied.status == "ok", applied.summary
        assert set(applied.changes.removed) == planned
        truth, _ = await fresh_sync(mock.url, tmp_path / "truth", FAST_CLIENT)
        assert harness.entities() == truth
        assert recorder.emitted[-1] == truth
        # The approval was consumed: approving is not a standing permission.
        assert harness.store.approvals() == set()
    finally:
        await harness.close()


@pytest.mark.parametrize("breaker", ["empty-namespaces", "remove-60-percent"])
async def test_mass_deletion_is_guarded_until_approved(mock, tmp_path, capsys, breaker):
    await _guard_scenario(mock, tmp_path, capsys, breaker)


async def test_approval_covers_exactly_the_planned_removals(mock, tmp_path):
    harness = SyncHarness(mock.url, tmp_path / "daemon", RATIO_ONLY)
    try:
        assert (await harness.run()).status == "ok"
        index = harness.store.load_index()
        _remove_most(mock, 0.6, index)
        guarded = await harness.run()
        assert guarded.status == "guarded"
        config = write_config(harness, tmp_path / "app-config.yaml")
        assert cli("approve-deletions", "--config", str(config), guarded.run_id).returncode == 0
        # One more removal that nobody approved: the approval does not cover it.
        component = mock.world.items("components", SMALL_NS)[0]["metadata"]["name"]
        mock.world.delete("components", SMALL_NS, component)
        before = harness.entities()
        again = await harness.run()
        assert again.status == "guarded", again.summary
        assert harness.entities() == before
        assert set(again.summary["planned_removals"]) > set(guarded.summary["planned_removals"])
    finally:
        await harness.close()


async def test_approving_a_run_that_was_not_guarded_is_refused(mock, tmp_path):
    harness = SyncHarness(mock.url, tmp_path / "daemon", FAST_CLIENT)
    try:
        ok = await harness.run()
        config = write_config(harness, tmp_path / "app-config.yaml")
        refused = cli("approve-deletions", "--config", str(config), ok.run_id)
        assert refused.returncode != 0
        assert "was not guarded" in refused.stderr
        unknown = cli("approve-deletions", "--config", str(config), "no-such-run")
        assert unknown.returncode != 0 and "no run" in unknown.stderr
        assert harness.store.approvals() == set()
    finally:
        await harness.close()


@pytest.mark.parametrize("breaker", ["empty-namespaces", "remove-60-percent"])
async def test_allow_mass_deletion_skips_the_guard(mock, tmp_path, breaker):
    overrides = deep_merge(FAST_CLIENT, {"openchoreo": {"safety": {"allowMassDeletion": True}}})
    harness = SyncHarness(mock.url, tmp_path / "daemon", overrides)
    try:
        assert (await harness.run()).status == "ok"
        if breaker == "empty-namespaces":
            for name in mock.world.namespaces():
                mock.world.delete("namespaces", "", name)
        else:
            _remove_most(mock, 0.6, harness.store.load_index())
        result = await harness.run()
        assert result.status == "ok", result.summary
        assert result.changes.removed
        truth, _ = await fresh_sync(mock.url, tmp_path / "truth", FAST_CLIENT)
        assert harness.entities() == truth
    finally:
        await harness.close()


async def test_below_the_ratio_is_not_guarded(mock, tmp_path):
    harness = SyncHarness(mock.url, tmp_path / "daemon", FAST_CLIENT)
    try:
        assert (await harness.run()).status == "ok"
        env = mock.world.items("environments", SMALL_NS)[0]["metadata"]["name"]
        mock.world.delete("environments", SMALL_NS, env)
        result = await harness.run()
        assert result.status == "ok"
        assert len(result.changes.removed) == 1
    finally:
        await harness.close()


# --- grace period -------------------------------------------------------------------------------


async def test_grace_period_counts_complete_runs_and_survives_a_restart(mock, tmp_path):
    assert SMALL_NS in mock.world.namespaces()
    overrides = deep_merge(FAST_CLIENT, {"openchoreo": {"safety": {"deletionGraceRuns": 3, "emptyCollectionRuns": 1}}})
    state = tmp_path / "daemon"
    harness = SyncHarness(mock.url, state, overrides)
    try:
        assert (await harness.run()).status == "ok"
        gone_env = mock.world.items("environments", SMALL_NS)[0]
        gone_trait = mock.world.items("clustertraits", "")[0]
        mock.world.delete("environments", SMALL_NS, gone_env["metadata"]["name"])
        mock.world.delete("clustertraits", "", gone_trait["metadata"]["name"])
        before = harness.entities()
        doomed = {
            ref
            for ref, e in before.items()
            if e["metadata"]["name"] in (gone_env["metadata"]["name"], gone_trait["metadata"]["name"])
            and e["kind"] in ("Environment", "ClusterTraitType")
        }
        assert len(doomed) == 2

        first = await harness.run()
        assert first.status == "ok" and not first.changes.removed
        assert doomed <= set(harness.entities())
        assert harness.store.pending_removals() == dict.fromkeys(doomed, 1)

        # A run in which the environments collection fails does not count as a complete miss.
        mock.faults.fail(f"^/api/v1/namespaces/{SMALL_NS}/environments$", 500)
        faulted = await harness.run()
        mock.faults.reset()
        assert faulted.status == "partial"
        assert doomed <= set(harness.entities())
        pending = harness.store.pending_removals()
        env_ref = next(ref for ref in doomed if ref.startswith("environment:"))
        trait_ref = next(ref for ref in doomed if ref.startswith("clustertraittype:"))
        # Consecutive complete runs: the failed collection restarts its entity's count ...
        assert env_ref not in pending, pending
        # ... while the other one, read completely, counts on.
        assert pending[trait_ref] == 2, pending
    finally:
        await harness.close()

    # Restart: a new daemon on the same state directory keeps counting.
    counts = dict(pending)
    harness = SyncHarness(mock.url, state, overrides)
    try:
        assert harness.store.pending_removals() == counts
        runs = 0
        while doomed & set(harness.entities()):
            present = doomed & set(harness.entities())
            before_run = {ref: harness.store.pending_removals().get(ref, 0) for ref in present}
            result = await harness.run()
            runs += 1
            assert result.status == "ok", result.summary
            for ref in present:
                if ref in harness.entities():
                    assert harness.store.pending_removals()[ref] == before_run[ref] + 1 < 3
                else:
                    assert before_run[ref] + 1 == 3, (ref, before_run[ref])
                    assert ref in result.changes.removed
            assert runs <= 3, "an entity absent from complete views was never removed"
        truth, _ = await fresh_sync(mock.url, tmp_path / "truth", FAST_CLIENT)
        assert harness.entities() == truth
    finally:
        await harness.close()


async def test_grace_period_removes_exactly_on_the_third_complete_run(mock, tmp_path):
    overrides = deep_merge(FAST_CLIENT, {"openchoreo": {"safety": {"deletionGraceRuns": 3, "emptyCollectionRuns": 1}}})
    harness = SyncHarness(mock.url, tmp_path / "daemon", overrides)
    try:
        assert (await harness.run()).status == "ok"
        trait = mock.world.items("clustertraits", "")[0]["metadata"]["name"]
        mock.world.delete("clustertraits", "", trait)
        ref = next(r for r, e in harness.entities().items() if e["kind"] == "ClusterTraitType")
        seen = []
        for _ in range(3):
            await harness.run()
            seen.append(ref in harness.entities())
        assert seen == [True, True, False]
    finally:
        await harness.close()
