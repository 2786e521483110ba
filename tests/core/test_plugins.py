"""Plugin manager: entry points, enable/disable, unknown names, broken imports, third-party plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from openchoreo_sync import entity_ref
from openchoreo_sync.config import AppConfig
from openchoreo_sync.errors import ConfigError
from openchoreo_sync.plugins_manager import ENTRY_POINT_GROUP, discover, load_plugins

BUILT_INS = {
    "namespaces",
    "components",
    "component_types",
    "cluster_kinds",
    "platform_planes",
    "templates",
    "embedded_catalog",
}


def config(plugins: dict | None = None) -> AppConfig:
    return AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1", "plugins": plugins or {}}})


def test_built_ins_and_the_example_load_through_the_same_entry_point_group():
    names = {ep.name for ep in discover()}
    assert names >= BUILT_INS
    assert "example" in names  # installed as its own distribution (tests/example_plugin)
    loaded = load_plugins(config())
    assert loaded.records["example"].package == "openchoreo-sync-example-plugin"
    assert loaded.records["components"].package == "openchoreo-catalog-sync"
    assert not loaded.records["example"].enabled  # opt-in plugin


def test_unknown_plugin_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        load_plugins(config({"componnets": {"enabled": False}}))
    assert "componnets" in str(err.value)
    assert "components" in str(err.value) and "namespaces" in str(err.value)


def test_broken_plugin_is_reported_and_skipped_unless_explicitly_enabled():
    broken = EntryPoint(name="broken", value="no_such_module_xyz", group=ENTRY_POINT_GROUP)
    loaded = load_plugins(config(), entry_points_list=[broken])
    assert loaded.records["broken"].error and "no_such_module_xyz" in loaded.records["broken"].error
    assert not loaded.records["broken"].enabled
    with pytest.raises(ConfigError, match="broken is enabled but the plugin failed to import"):
        load_plugins(config({"broken": {"enabled": True}}), entry_points_list=[broken])


def test_plugin_settings_are_validated_at_startup():
    with pytest.raises(ConfigError, match=r"openchoreo.plugins.example.notASetting"):
        load_plugins(config({"example": {"enabled": True, "notASetting": 1}}))


def test_env_escape_hatch_disables_a_plugin():
    loaded = load_plugins(config(), env={"OPENCHOREO_SYNC_DISABLE_PLUGINS": "components"})
    assert not loaded.records["components"].enabled


def test_misspelled_hook_fails_at_start():
    from openchoreo_sync import hookimpl

    class Bad:
        @hookimpl
        def plugin_info(self):
            from openchoreo_sync import PluginInfo

            return PluginInfo(description="bad")

        @hookimpl
        def fecth(self, ctx):  # a typo of fetch
            return []

    from openchoreo_sync.errors import PluginError

    with pytest.raises(PluginError, match="fecth"):
        load_plugins(config(), extra=[("bad", Bad())])


def test_plugins_command_lists_everything(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("openchoreo:\n  baseUrl: http://127.0.0.1:1\n  plugins: {files: {enabled: false}}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", "plugins", "--config", str(cfg), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert set(rows) >= BUILT_INS
    assert rows["components"]["enabled"] is True
    assert "Component" in rows["components"]["kinds"]
    assert "fetch" in rows["components"]["hooks"] and "map_resource" in rows["components"]["hooks"]
    assert rows["files"]["enabled"] is False
    assert rows["example"]["version"] == "0.1.0"


async def test_disabling_a_family_removes_exactly_its_kinds(mock_openchoreo, sync_harness_factory, tmp_path):
    full = sync_harness_factory(mock_openchoreo.url, state_dir=tmp_path / "a")
    everything = (await full.run()).entities
    without = sync_harness_factory(
        mock_openchoreo.url,
        {"openchoreo": {"plugins": {"platform_planes": {"enabled": False}}}},
        state_dir=tmp_path / "b",
    )
    some = (await without.run()).entities
    info = full.runtime.plugins.records["platform_planes"].info
    plane_kinds = set(info.kinds if info else ())
    assert plane_kinds
    missing = {ref for ref in everything if ref not in some}
    assert missing and all(everything[ref]["kind"] in plane_kinds for ref in missing)
    assert not any(e["kind"] in plane_kinds for e in some.values())


async def test_third_party_plugin_adds_a_kind_and_overrides_components(mock_openchoreo, sync_harness_factory, tmp_path):
    base = sync_harness_factory(mock_openchoreo.url, state_dir=tmp_path / "a")
    before = (await base.run()).entities
    plugin = sync_harness_factory(
        mock_openchoreo.url,
        {"openchoreo": {"plugins": {"example": {"enabled": True, "overrideComponents": True}}}},
        state_dir=tmp_path / "b",
    )
    result = await plugin.run()
    after = result.entities
    bindings = [e for e in after.values() if e["kind"] == "ReleaseBinding"]
    assert bindings, "the example plugin's kind is synced"
    components = [e for e in after.values() if e["kind"] == "Component"]
    assert components and all(e["spec"]["type"] == "example-service" for e in components)
    # Everything that is not a Component or the new kind is exactly as without the plugin.
    for ref, entity in after.items():
        if entity["kind"] in ("Component", "ReleaseBinding") or ref not in before:
            continue
        assert {k: v for k, v in entity.items() if k != "relations"} == {
            k: v for k, v in before[ref].items() if k != "relations"
        }, ref
    binding = result.entity(entity_ref(bindings[0]))
    assert any(r["type"] == "deployedAs" for r in binding["relations"])
