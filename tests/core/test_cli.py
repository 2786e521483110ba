"""The command line, run as a real process against the mock API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from openchoreo_sync.cli import build_parser
from openchoreo_sync.store.sqlite import SqliteStore

COMMANDS = [
    "run",
    "once",
    "plan",
    "explain",
    "export",
    "check",
    "plugins",
    "status",
    "approve-deletions",
    "mock-api",
    "demo",
]


def cli(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", *args], capture_output=True, text=True, check=check, timeout=120
    )


@pytest.fixture
def config_file(tmp_path, mock_openchoreo):
    path = tmp_path / "app-config.yaml"
    path.write_text(
        f"openchoreo:\n  baseUrl: {mock_openchoreo.url}/api/v1\n  features: {{auth: {{enabled: false}}}}\n"
        f"  sqlite: {{path: {tmp_path / 'state.sqlite3'}}}\n"
    )
    return path


def test_help_is_complete_for_every_command():
    top = cli("--help", check=True).stdout
    for command in COMMANDS:
        assert command in top
        text = cli(command, "--help", check=True).stdout
        assert f"usage: openchoreo-sync {command}" in text
        assert len(text.splitlines()) > 3
    assert {a.dest for a in build_parser()._subparsers._group_actions} == {"command"}  # type: ignore[union-attr]


def test_once_status_and_export(config_file):
    once = cli("once", "--config", str(config_file), "--log-format", "json")
    assert once.returncode == 0, once.stderr
    lines = [json.loads(line) for line in once.stderr.splitlines() if line.startswith("{")]
    run_ids = {line.get("run_id") for line in lines if line.get("event", "").startswith("sync run")}
    assert len(run_ids) == 1 and None not in run_ids, "every line of a run carries its run id"
    status = cli("status", "--config", str(config_file), check=True).stdout
    assert "ok" in status and "catalog:" in status
    exported = cli("export", "--config", str(config_file), "--format", "json", check=True).stdout
    entities = json.loads(exported)
    assert any(e["kind"] == "Domain" and e["metadata"]["name"] == "default" for e in entities)
    as_yaml = list(yaml.safe_load_all(cli("export", "--config", str(config_file), check=True).stdout))
    assert len(as_yaml) == len(entities)


def test_once_fails_when_the_api_is_down(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "openchoreo:\n  baseUrl: http://127.0.0.1:9\n  client: {retries: 0, timeout: 2}\n"
        f"  sqlite: {{path: {tmp_path / 's.sqlite3'}}}\n"
    )
    proc = cli("once", "--config", str(cfg))
    assert proc.returncode == 1
    assert "failed" in proc.stderr


def test_check_redacts_and_probes(config_file, tmp_path, mock_openchoreo_factory):
    secured = mock_openchoreo_factory(auth=True, client_secret="cli-canary-secret-123")
    cfg = tmp_path / "auth.yaml"
    cfg.write_text(
        f"openchoreo:\n  baseUrl: {secured.url}\n  auth:\n    clientId: {secured.client_id}\n"
        "    clientSecret: ${OC_SECRET}\n"
        f"    tokenUrl: {secured.token_url}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", "check", "--config", str(cfg), "--probe"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "OC_SECRET": "cli-canary-secret-123"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cli-canary-secret-123" not in proc.stdout + proc.stderr
    assert "clientSecret: '***'" in proc.stdout or "clientSecret: '**********'" in proc.stdout
    assert "namespaces" in proc.stdout.lower()


def test_approve_deletions_refuses_unknown_runs(config_file):
    # With no store yet, the command says so instead of creating one (issue 18); with a store, it
    # names the unknown run as before.
    proc = cli("approve-deletions", "--config", str(config_file), "no-such-run")
    assert proc.returncode == 1
    assert "no state store at" in proc.stderr
    store_path = config_file.parent / "state.sqlite3"
    assert not store_path.exists()
    store = SqliteStore(store_path)
    store.migrate()
    store.close()
    proc = cli("approve-deletions", "--config", str(config_file), "no-such-run")
    assert proc.returncode == 1
    assert "no run 'no-such-run'" in proc.stderr


def test_run_stops_cleanly_on_sigterm_with_a_run_in_flight(tmp_path, mock_openchoreo_factory):
    import signal
    import time

    slow = mock_openchoreo_factory(latency_ms=400)  # every request is slow: a run is surely in flight
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"openchoreo:\n  baseUrl: {slow.url}\n  features: {{auth: {{enabled: false}}}}\n"
        f"  sqlite: {{path: {tmp_path / 's.sqlite3'}}}\n  server: {{port: 0}}\n"
    )
    proc = subprocess.Popen(
        # "sync run started" is a debug line: a steady run logs one INFO line (issue 18)
        [
            sys.executable,
            "-m",
            "openchoreo_sync.cli",
            "run",
            "--config",
            str(cfg),
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    for line in proc.stderr:
        if '"sync run started"' in line:
            break
        assert time.monotonic() < deadline, "the first run never started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0  # "within a few seconds": bounded, not timed
    assert "in-flight run cancelled for shutdown" in proc.stderr.read()


def test_a_command_result_is_never_formatted_by_the_event_loop():
    """``asyncio.run`` (3.11) builds ``repr(result)`` twice when it restores SIGINT: an export's entities."""
    from openchoreo_sync.commands import run_quietly

    formatted = []

    class Result:
        def __repr__(self) -> str:
            formatted.append(1)
            return "Result()"

    async def command() -> Result:
        return Result()

    assert isinstance(run_quietly(command()), Result)
    assert formatted == []
