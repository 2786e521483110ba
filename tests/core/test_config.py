"""Configuration: Backstage-style merge and substitution, and errors that name file, key and fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from openchoreo_sync.config import load_config, redacted
from openchoreo_sync.errors import ConfigError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_backstage_duration_shape_is_rejected_naming_the_key(tmp_path):
    cfg = write(
        tmp_path, "app-config.yaml", "openchoreo:\n  baseUrl: http://x\n  schedule:\n    frequency: {minutes: 1}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config([cfg])
    text = str(err.value)
    assert "openchoreo.schedule.frequency" in text
    assert "plain integer number of seconds" in text
    assert str(cfg) in text


def test_cli_exits_non_zero_for_duration_frequency(tmp_path):
    cfg = write(
        tmp_path, "app-config.yaml", "openchoreo:\n  baseUrl: http://x\n  schedule:\n    frequency: {minutes: 1}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", "check", "--config", str(cfg)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "openchoreo.schedule.frequency" in proc.stderr


@pytest.mark.parametrize("value", [0, -5, "abc", True])
def test_non_positive_or_non_numeric_seconds_are_rejected(tmp_path, value):
    cfg = write(tmp_path, "c.yaml", f"openchoreo:\n  baseUrl: http://x\n  schedule:\n    timeout: {value!r}\n")
    with pytest.raises(ConfigError, match="openchoreo.schedule.timeout"):
        load_config([cfg])


def test_defaults_and_numeric_strings(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: http://x/api/v1/\n  schedule:\n    frequency: '45'\n")
    config, _ = load_config([cfg])
    assert config.openchoreo.schedule.frequency == 45
    assert config.openchoreo.schedule.timeout == 120
    assert config.openchoreo.base_url == "http://x"
    assert config.openchoreo.default_owner_ref == "group:default/openchoreo-users"


def test_default_owner_already_a_ref_is_used_as_is(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: http://x\n  defaultOwner: group:platform/team-a\n")
    config, _ = load_config([cfg])
    assert config.openchoreo.default_owner_ref == "group:platform/team-a"


def test_env_substitution_and_multi_file_merge(tmp_path):
    base = write(
        tmp_path,
        "app-config.yaml",
        "openchoreo:\n  baseUrl: ${OC_URL}\n  defaultOwner: ${OC_OWNER}\n  schedule:\n    frequency: 60\n    timeout: 90\n",
    )
    local = write(tmp_path, "app-config.local.yaml", "openchoreo:\n  schedule:\n    frequency: 15\n")
    config, raw = load_config([base, local], env={"OC_URL": "http://api:8080"})
    assert config.openchoreo.base_url == "http://api:8080"
    assert config.openchoreo.schedule.frequency == 15  # later file wins
    assert config.openchoreo.schedule.timeout == 90  # objects merge key by key
    assert config.openchoreo.default_owner == "openchoreo-users"  # unset variable -> key absent -> default
    assert any("OC_OWNER" in note for note in raw.notes)
    assert raw.origin_of("openchoreo.schedule.frequency") == str(local)


def test_escaped_placeholder_is_literal(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: http://x\n  defaultOwner: $${NOT_A_VAR}\n")
    config, _ = load_config([cfg], env={})
    assert config.openchoreo.default_owner == "${NOT_A_VAR}"


def test_auth_enabled_with_missing_credentials_names_the_keys(tmp_path):
    cfg = write(
        tmp_path,
        "c.yaml",
        "openchoreo:\n  baseUrl: http://x\n  features: {auth: {enabled: true}}\n  auth: {clientId: sync}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config([cfg])
    assert "openchoreo.auth.clientSecret" in str(err.value)
    assert "openchoreo.auth.tokenUrl" in str(err.value)
    assert "openchoreo.auth.clientId" not in str(err.value).split("but")[1]


def test_unknown_key_in_our_blocks_names_file_and_key(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: http://x\n  schedule:\n    frequncy: 10\n")
    with pytest.raises(ConfigError) as err:
        load_config([cfg])
    assert f"{cfg}: openchoreo.schedule.frequncy is not a known key" in str(err.value)


def test_keys_of_the_official_module_are_tolerated(tmp_path):
    cfg = write(
        tmp_path,
        "c.yaml",
        "app: {title: x}\nopenchoreo:\n  baseUrl: http://x\n  token: abc\n  features: {workflows: {enabled: true}}\n",
    )
    load_config([cfg])


def test_missing_base_url(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  defaultOwner: x\n")
    with pytest.raises(ConfigError, match="openchoreo.baseUrl is required"):
        load_config([cfg])


def test_invalid_yaml_and_missing_file_name_the_file(tmp_path):
    bad = write(tmp_path, "bad.yaml", "openchoreo: [\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config([bad])
    with pytest.raises(ConfigError, match="nope.yaml: cannot read"):
        load_config([tmp_path / "nope.yaml"])


def test_yaml_is_loaded_safely(tmp_path):
    cfg = write(tmp_path, "c.yaml", "openchoreo:\n  baseUrl: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config([cfg])


def test_secrets_are_redacted(tmp_path):
    cfg = write(
        tmp_path,
        "c.yaml",
        "openchoreo:\n  baseUrl: http://x\n  auth: {clientId: sync, clientSecret: s3cr3t-value, tokenUrl: http://t/token}\n"
        "  server: {token: srv-t0ken-value}\n",
    )
    config, _ = load_config([cfg])
    text = repr(redacted(config)) + repr(config)
    assert "s3cr3t-value" not in text and "srv-t0ken-value" not in text
    assert config.openchoreo.auth_enabled  # credentials present and no explicit flag -> on
