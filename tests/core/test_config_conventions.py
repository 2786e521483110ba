"""Backstage's config conventions (issue 18): default files, APP_CONFIG_ overrides, ${VAR:-x},
$env/$file/$include, null, commands that need no baseUrl, and the example config kept complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from openchoreo_sync.config import AppConfig, OpenChoreoConfig, load_config
from openchoreo_sync.config_loader import default_config_paths, load_raw_config
from openchoreo_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APP_CONFIG_")}
    return subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**clean, **(env or {})},
    )


# --- the loader -----------------------------------------------------------------------------------


def test_app_config_env_override_ranks_above_files_and_parses_json(tmp_path):
    cfg = write(tmp_path, "app-config.yaml", "openchoreo:\n  baseUrl: http://x\n  defaultOwner: from-file\n")
    env = {
        "APP_CONFIG_openchoreo_defaultOwner": "x",
        "APP_CONFIG_openchoreo_schedule_frequency": "45",
        "APP_CONFIG_openchoreo_safety": '{"allowMassDeletion": true}',
    }
    config, raw = load_config([cfg], env=env)
    assert config.openchoreo.default_owner == "x"
    assert config.openchoreo.schedule.frequency == 45
    assert config.openchoreo.safety.allow_mass_deletion is True
    assert raw.origin_of("openchoreo.defaultOwner") == "environment variable APP_CONFIG_openchoreo_defaultOwner"


def test_app_config_env_with_a_bad_key_names_the_variable(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: http://x\n")
    with pytest.raises(ConfigError, match="APP_CONFIG_openchoreo__x"):
        load_config([cfg], env={"APP_CONFIG_openchoreo__x": "1"})


def test_variable_default_applies_only_when_unset(tmp_path):
    cfg = write(
        tmp_path,
        "c.yaml",
        "openchoreo:\n  baseUrl: ${URL:-http://fallback:8080}\n  schedule:\n    frequency: ${FREQ:-3}\n"
        "  defaultOwner: team-${TEAM:-none}\n  server: {host: '$${HOST:-literal}'}\n"
        "  events: {enabled: false}\n",  # a host that is not loopback needs an events token otherwise
    )
    config, _ = load_config([cfg], env={"TEAM": "a"})
    assert config.openchoreo.schedule.frequency == 3
    assert config.openchoreo.base_url == "http://fallback:8080"
    assert config.openchoreo.default_owner == "team-a"
    assert config.openchoreo.server.host == "${HOST:-literal}"
    config, _ = load_config([cfg], env={"FREQ": "9"})
    assert config.openchoreo.schedule.frequency == 9


def test_env_file_and_include_value_forms(tmp_path):
    (tmp_path / "secrets").mkdir()
    write(tmp_path / "secrets", "client-secret", "s3cr3t-value")
    write(
        tmp_path,
        "shared.yaml",
        "sync:\n  schedule: {frequency: 12}\n  safety:\n    maxDeletionRatio: 0.2\n"
        "  auth:\n    clientSecret: {$file: secrets/client-secret}\n",
    )
    cfg = write(
        tmp_path,
        "app-config.yaml",
        "openchoreo:\n  baseUrl: {$env: OC_URL}\n  schedule: {timeout: 99}\n"
        "  auth: {clientId: sync, tokenUrl: 'http://idp/token'}\n",
    )
    # the include is merged under openchoreo by a second file, key by key with the first
    local = write(tmp_path, "app-config.local.yaml", "openchoreo: {$include: shared.yaml#sync}\n")
    config, _ = load_config([cfg, local], env={"OC_URL": "http://api:8080"})
    oc = config.openchoreo
    assert oc.base_url == "http://api:8080"
    assert oc.schedule.frequency == 12 and oc.schedule.timeout == 99
    assert oc.safety.max_deletion_ratio == 0.2
    assert oc.auth.client_secret is not None and oc.auth.client_secret.get_secret_value() == "s3cr3t-value"
    assert oc.auth.client_id == "sync"


def test_include_and_file_errors_name_the_culprit(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: http://x\n  auth: {clientSecret: {$file: nope.txt}}\n")
    with pytest.raises(ConfigError, match=r"openchoreo\.auth\.clientSecret: cannot read \$file .*nope\.txt"):
        load_config([cfg], env={})
    write(tmp_path, "loop.yaml", "a: {$include: loop.yaml}\n")
    cfg = write(tmp_path, "d.yaml", "openchoreo: {$include: loop.yaml}\n")
    with pytest.raises(ConfigError, match="nested more than"):
        load_config([cfg], env={})
    cfg = write(tmp_path, "e.yaml", "openchoreo: {$include: 'd.yaml#no.such'}\n")
    with pytest.raises(ConfigError, match="has no key 'no.such'"):
        load_config([cfg], env={})


def test_null_makes_a_key_absent_again(tmp_path):
    base = write(tmp_path, "a.yaml", "openchoreo:\n  baseUrl: http://x\n  defaultOwner: team-a\n")
    later = write(tmp_path, "b.yaml", "openchoreo:\n  defaultOwner: null\n")
    config, _ = load_config([base, later], env={})
    assert config.openchoreo.default_owner == "openchoreo-users"


def test_default_files_are_app_config_then_local_then_backstage_env(tmp_path):
    with pytest.raises(ConfigError, match="no app-config.yaml in"):
        default_config_paths(tmp_path, env={})
    base = write(tmp_path, "app-config.yaml", "openchoreo: {baseUrl: 'http://x'}\n")
    assert default_config_paths(tmp_path, env={}) == [base]
    local = write(tmp_path, "app-config.local.yaml", "{}\n")
    prod = write(tmp_path, "app-config.production.yaml", "{}\n")
    assert default_config_paths(tmp_path, env={}) == [base, local]
    assert default_config_paths(tmp_path, env={"BACKSTAGE_ENV": "production"}) == [base, local, prod]


def test_base_url_is_needed_only_to_call_the_api(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  defaultOwner: team-a\n")
    config, _ = load_config([cfg], env={}, needs_api=False)
    assert config.openchoreo.base_url is None
    with pytest.raises(ConfigError, match=r"c\.yaml: openchoreo\.baseUrl is required"):
        load_config([cfg], env={})
    empty = write(tmp_path, "empty.yaml", "app: {title: Backstage}\n")
    load_config([empty], env={}, needs_api=False)


# --- the example config ----------------------------------------------------------------------------


def _model_defaults(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every key path of the model (camelCase, dotted) with its default as JSON would show it."""
    out: dict[str, Any] = {}
    instance = model.model_validate({"baseUrl": None}) if model is OpenChoreoConfig else model()
    dumped = instance.model_dump(mode="json", by_alias=True)
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.serialization_alias or name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.update(_model_defaults(annotation, key + "."))
        else:
            out[key] = dumped[field.serialization_alias or name]
    return out


def _lookup(tree: Any, dotted: str) -> tuple[bool, Any]:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def test_example_config_lists_every_key_with_its_default():
    example_path = ROOT / "app-config.example.yaml"
    example = yaml.safe_load(example_path.read_text())["openchoreo"]
    defaults = _model_defaults(OpenChoreoConfig)
    missing = [key for key in defaults if not _lookup(example, key)[0]]
    assert not missing, f"app-config.example.yaml lacks {missing}"
    # values as the model reads them (after substitution with an empty environment)
    config, _ = load_config([example_path], env={})
    effective = config.openchoreo.model_dump(mode="json", by_alias=True)
    wrong = {
        key: (_lookup(effective, key)[1], default)
        for key, default in defaults.items()
        if default is not None and _lookup(effective, key)[1] != default
    }
    assert not wrong, f"app-config.example.yaml shows values other than the defaults: {wrong}"
    unknown = [key for key in _leaf_keys(example) if key not in defaults and not key.startswith("plugins")]
    assert not unknown, f"app-config.example.yaml has keys the model does not know: {unknown}"
    assert AppConfig.model_fields.keys() >= {"openchoreo", "catalog"}


def _leaf_keys(tree: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            keys += _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def test_example_config_passes_check(tmp_path):
    proc = cli("check", "--config", str(ROOT / "app-config.example.yaml"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "configuration is valid" in proc.stderr


# --- the command line, with no --config ---------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path, mock_openchoreo):
    write(tmp_path, "app-config.yaml", "app: {title: shared with Backstage}\nopenchoreo:\n  defaultOwner: from-base\n")
    write(
        tmp_path,
        "app-config.local.yaml",
        f"openchoreo:\n  baseUrl: {mock_openchoreo.url}\n  features: {{auth: {{enabled: false}}}}\n",
    )
    return tmp_path


def test_commands_read_the_default_files_of_the_working_directory(workdir):
    store = workdir / ".openchoreo-sync" / "state.sqlite3"
    status = cli("status", cwd=workdir)
    assert status.returncode == 1 and "no state store at" in status.stderr, status.stderr
    assert not store.exists(), "status must not create a store"
    check = cli("check", cwd=workdir)
    assert check.returncode == 0, check.stderr
    assert "app-config.yaml, " in check.stderr and "app-config.local.yaml" in check.stderr
    assert yaml.safe_load(check.stdout)["openchoreo"]["defaultOwner"] == "from-base"
    once = cli("once", cwd=workdir, env={"APP_CONFIG_openchoreo_defaultOwner": "x"})
    assert once.returncode == 0, once.stderr
    status = cli("status", cwd=workdir)
    assert status.returncode == 0, status.stderr
    assert "ok" in status.stdout and "catalog: 0 entities" not in status.stdout
    exported = cli("export", "--format", "json", cwd=workdir, env={"APP_CONFIG_openchoreo_defaultOwner": "x"})
    assert '"group:default/x"' in exported.stdout


def test_commands_that_call_nothing_need_no_base_url(tmp_path):
    write(tmp_path, "app-config.yaml", "app: {title: Backstage only}\n")
    plugins = cli("plugins", cwd=tmp_path)
    assert plugins.returncode == 0, plugins.stderr
    assert "embedded_catalog" in plugins.stdout
    assert cli("check", cwd=tmp_path).returncode == 0
    probe = cli("check", "--probe", cwd=tmp_path)
    assert probe.returncode == 2 and "openchoreo" in probe.stderr
    approve = cli("approve-deletions", "some-run", cwd=tmp_path)
    assert approve.returncode == 1 and "no state store at" in approve.stderr
    assert not (tmp_path / ".openchoreo-sync").exists()


def test_no_app_config_says_what_to_do(tmp_path):
    proc = cli("status", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no app-config.yaml in" in proc.stderr and "--config" in proc.stderr


def test_raw_config_records_its_sources_in_merge_order(tmp_path):
    a = write(tmp_path, "a.yaml", "{}\n")
    raw = load_raw_config([a], env={"APP_CONFIG_openchoreo_baseUrl": "http://x"}, inline=[("inline", {})])
    assert raw.sources == [str(a), "inline", "environment variable APP_CONFIG_openchoreo_baseUrl"]


def spawn(*args: str, cwd: Path) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APP_CONFIG_")}
    return subprocess.Popen(
        [sys.executable, "-m", "openchoreo_sync.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env={**clean, "PYTHONUNBUFFERED": "1"},
    )


def read_until(proc: subprocess.Popen[str], marker: str, limit: int = 400) -> list[str]:
    """Lines of ``proc`` up to the first holding ``marker`` (bounded: the process ends or ``limit`` lines)."""
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line or len(seen) >= limit:
            break
    assert any(marker in line for line in seen), "".join(seen)
    return seen


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_run_reads_the_default_files_too(workdir):
    with (workdir / "app-config.local.yaml").open("a") as local:
        local.write("  server: {port: 0}\n")
    proc = spawn("run", "--log-format", "json", cwd=workdir)
    try:
        read_until(proc, '"sync run finished"')
    finally:
        stop(proc)
    assert (workdir / ".openchoreo-sync" / "state.sqlite3").is_file()


def test_demo_prints_its_store_and_how_status_reads_it(tmp_path):
    proc = spawn(
        "demo", "--port", "0", "--state", str(tmp_path / "demo.sqlite3"), "--log-level", "warning", cwd=tmp_path
    )
    try:
        lines = read_until(proc, "openchoreo-sync status --config")
    finally:
        stop(proc)
    assert any(f"state store         : {tmp_path / 'demo.sqlite3'}" in line for line in lines)
    command = next(line for line in lines if "openchoreo-sync status --config" in line).split()
    elsewhere = tmp_path / "elsewhere"  # the printed command works from any directory
    elsewhere.mkdir()
    status = cli(*command[1:], cwd=elsewhere)
    assert status.returncode == 0, status.stderr
    assert "trigger=demo" in status.stdout and "catalog: 0 entities" not in status.stdout
