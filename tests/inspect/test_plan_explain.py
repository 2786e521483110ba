"""``plan`` and ``explain`` against the mock world, through the real engine, store and command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from openchoreo_sync import PluginInfo, hookimpl
from openchoreo_sync.explain import explain_entity
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.planning import field_changes, plan_run
from openchoreo_sync.testing.harness import SyncHarness

SPEC = WorldSpec(seed=5, namespaces=1, projects=1, components=3, example=False)
FAST = {"openchoreo": {"client": {"timeout": 2, "retries": 1, "backoffBase": 0.01}}}
CLI = [str(Path(sys.executable).parent / "openchoreo-sync")]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def mock():
    with MockOpenChoreo(SPEC) as m:
        yield m


class Labeller:
    """A decorator that labels components, and leaves every other entity alone."""

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="labels components (test decorator)")

    @hookimpl
    def decorate_entity(self, entity) -> None:
        if entity["kind"] == "Component":
            entity["metadata"].setdefault("labels", {})["team"] = "explained"


@pytest.fixture
async def harness(mock, tmp_path):
    h = SyncHarness(mock.url, tmp_path / "daemon", FAST, extra_plugins=[("labeller", Labeller())])
    assert (await h.run()).status == "ok"
    yield h
    await h.close()


def _namespace(mock: MockOpenChoreo) -> str:
    return next(ns for ns in mock.world.namespaces() if ns != "default")


def _change_world(mock: MockOpenChoreo) -> tuple[str, str, str]:
    """One component renamed in its display name, one environment deleted, one added."""
    ns = _namespace(mock)
    component = mock.world.items("components", ns)[0]
    component["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = "planned change"
    mock.world.put("components", ns, component)
    envs = mock.world.items("environments", ns)
    doomed = envs[-1]["metadata"]["name"]
    mock.world.delete("environments", ns, doomed)
    added = dict(envs[0], metadata={**envs[0]["metadata"], "name": "planned-env", "uid": "planned-env-uid"})
    mock.world.put("environments", ns, added)
    return component["metadata"]["name"], doomed, ns


def test_field_changes_name_each_path():
    before = {"metadata": {"name": "a", "tags": ["x"]}, "spec": {"type": "service", "old": 1}}
    after = {"metadata": {"name": "a", "tags": ["x", "y"]}, "spec": {"type": "website", "new": 2}}
    got = {(c.path, c.op, str(c.before), str(c.after)) for c in field_changes(before, after)}
    assert got == {
        ("metadata.tags[]", "added", "None", "y"),
        ("spec.new", "added", "None", "2"),
        ("spec.old", "removed", "1", "None"),
        ("spec.type", "changed", "service", "website"),
    }


async def test_plan_lists_exactly_what_the_next_run_commits(mock, harness):
    unchanged = await plan_run(harness.engine)
    assert unchanged.outcome == "unchanged" and not unchanged.would_change, unchanged.lines()

    _change_world(mock)
    version = harness.store.snapshot_version()
    plan = await plan_run(harness.engine)
    assert harness.store.snapshot_version() == version, "plan must not commit"
    assert plan.outcome == "changes"
    assert plan.grace_runs == 1

    result = await harness.run()
    assert result.status == "ok"
    assert plan.added == sorted(result.changes.added)
    assert sorted(plan.changed) == sorted(result.changes.changed)
    assert plan.removed == sorted(result.changes.removed)
    assert plan.added and plan.changed and plan.removed
    component = next(ref for ref in plan.changed if ref.startswith("component:"))
    paths = {change.path: change for change in plan.changed[component]}
    assert paths["metadata.description"].after == "planned change", plan.changed[component]
    assert (await plan_run(harness.engine)).outcome == "unchanged"


async def test_plan_reports_a_guarded_run_and_the_cli_exit_codes(mock, tmp_path):
    harness = SyncHarness(mock.url, tmp_path / "cli", FAST)  # the CLI loads the installed plugins only
    try:
        assert (await harness.run()).status == "ok"
    finally:
        await harness.close()
    config = tmp_path / "app-config.yaml"
    config.write_text(yaml.safe_dump(harness.config_data))
    assert cli("plan", "-c", str(config)).returncode == 0
    _change_world(mock)
    changed = cli("plan", "-c", str(config), "--json")
    assert changed.returncode == 3, changed.stderr
    assert json.loads(changed.stdout)["outcome"] == "changes"
    for name in mock.world.namespaces():
        mock.world.delete("namespaces", "", name)
    guarded = cli("plan", "-c", str(config))
    assert guarded.returncode == 4, guarded.stdout + guarded.stderr
    assert "approve-deletions" in guarded.stdout and "guard:" in guarded.stdout


async def test_explain_a_component_an_api_and_a_carried_forward_entity(mock, harness, tmp_path):
    ns = _namespace(mock)
    entities = harness.entities()
    component = next(ref for ref in entities if ref.startswith(f"component:{ns}/"))
    explained = await explain_entity(harness.engine, component)
    assert explained.in_catalog and explained.in_live_api
    assert explained.family == "components" and explained.collection.startswith("components:")
    assert explained.source.startswith("component:")
    assert explained.trace is not None and explained.trace.mapper == "components"
    assert explained.trace.decorators_changed == ["labeller"]
    assert explained.last_change and explained.last_change["how"] == "added"
    assert explained.last_change["run_id"] == harness.results[0].run_id
    by_type = {(r.type, r.target): r.reported_by for r in explained.relations}
    part_of = [key for key in by_type if key[0] == "partOf"]
    assert part_of and all(by_type[key] for key in part_of), by_type

    api = next((ref for ref in entities if ref.startswith("api:")), None)
    assert api is not None, sorted(entities)
    explained_api = await explain_entity(harness.engine, api)
    assert explained_api.trace is not None and explained_api.trace.mapper == "components"
    assert explained_api.trace.decorators_changed == [] and explained_api.trace.decorators_unchanged == ["labeller"]
    assert explained_api.source and explained_api.family == "components"
    providers = [r for r in explained_api.relations if r.type == "apiProvidedBy"]
    assert providers and all("inverse of providesApi" in who for r in providers for who in r.reported_by)

    mock.faults.fail(f"/namespaces/{ns}/environments$", status=500)
    assert (await harness.run()).status == "partial"
    env = next(ref for ref in entities if ref.startswith(f"environment:{ns}/"))
    carried = await explain_entity(harness.engine, env)
    assert carried.stale_since, carried.lines()
    assert carried.carried_because and "environments" in carried.carried_because
    assert carried.in_live_api is False and carried.trace is None


async def test_explain_on_the_command_line(mock, tmp_path):
    harness = SyncHarness(mock.url, tmp_path / "cli", FAST)
    try:
        assert (await harness.run()).status == "ok"
        component = next(ref for ref in harness.entities() if ref.startswith("component:"))
    finally:
        await harness.close()
    config = tmp_path / "app-config.yaml"
    config.write_text(yaml.safe_dump(harness.config_data))
    out = cli("explain", "-c", str(config), component)
    assert out.returncode == 0, out.stderr
    assert "mapped by       components" in out.stdout and "from resource   component:" in out.stdout
    as_json = json.loads(cli("explain", "-c", str(config), component, "--json").stdout)
    assert as_json["family"] == "components" and as_json["trace"]["mapper"] == "components"
    assert cli("explain", "-c", str(config), "component:nowhere/nothing").returncode == 1
