"""Quiet logs (issue 18): one INFO line per steady run, repeated failures logged once then counted,
one OAuth token for many runs."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from openchoreo_sync.logs import MAX_HELD_LINES, configure_logging, holding_lines, release


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The process's real logging set-up (JSON lines, INFO), into a buffer."""
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    yield stream
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def token_requests(harness) -> float:
    for family in text_string_to_metric_families(harness.daemon.metrics.render().decode()):
        for sample in family.samples:
            if sample.name == "openchoreo_sync_token_requests_total":
                return sample.value
    raise AssertionError("no token counter")


def auth_config(mock, secret: str) -> dict:
    return {
        "openchoreo": {
            "features": {"auth": {"enabled": True}},
            "auth": {"clientId": mock.client_id, "clientSecret": secret, "tokenUrl": mock.token_url},
        }
    }


async def test_runs_reuse_one_token_and_a_steady_run_logs_one_info_line(
    mock_openchoreo_factory, sync_harness_factory, log_stream
):
    mock = mock_openchoreo_factory(auth=True)
    harness = sync_harness_factory(mock.url, auth_config(mock, mock.client_secret))
    for _ in range(3):
        assert (await harness.run()).succeeded
    assert token_requests(harness) == 1
    before = len(lines(log_stream))
    assert (await harness.run()).succeeded
    steady = lines(log_stream)[before:]
    assert [line["event"] for line in steady] == ["sync run finished"], steady


async def test_fifty_runs_with_bad_credentials_log_fewer_than_twenty_lines(
    mock_openchoreo_factory, sync_harness_factory, log_stream
):
    mock = mock_openchoreo_factory(auth=True)
    harness = sync_harness_factory(mock.url, auth_config(mock, "wrong-secret-1234"))
    for _ in range(50):
        assert (await harness.run()).status == "failed"
    logged = lines(log_stream)
    print(f"50 runs with bad credentials logged {len(logged)} lines, {len(log_stream.getvalue())} bytes")
    assert len(logged) < 20, [line["event"] for line in logged]
    assert any("invalid_client" in json.dumps(line) for line in logged), "the first failure is logged in full"
    repeats = [line for line in logged if line["event"].startswith("sync still failing")]
    assert [line["failing_runs"] for line in repeats] == [20, 40]
    assert "clientSecret" in repeats[0]["failure"]


async def test_a_changed_failure_is_logged_at_once_and_recovery_says_how_long(
    mock_openchoreo, sync_harness_factory, log_stream
):
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"logging": {"repeatEvery": 100}}})
    assert (await harness.run()).succeeded
    mock_openchoreo.faults.configure({"rules": [{"path": "/api/", "status": 500}]})
    for _ in range(3):
        assert (await harness.run()).status == "failed"
    quiet_from = len(lines(log_stream))
    assert (await harness.run()).status == "failed"
    assert lines(log_stream)[quiet_from:] == [], "an unchanged failure logs nothing"
    mock_openchoreo.faults.clear_rules()
    mock_openchoreo.faults.configure({"rules": [{"path": "/components$", "status": 500}]})
    changed_from = len(lines(log_stream))
    assert (await harness.run()).status == "partial"
    changed = lines(log_stream)[changed_from:]
    assert any("components" in json.dumps(line) and line["level"] == "warning" for line in changed), changed
    mock_openchoreo.faults.clear_rules()
    recovered_from = len(lines(log_stream))
    assert (await harness.run()).succeeded
    recovered = lines(log_stream)[recovered_from:]
    assert [line["event"] for line in recovered] == ["sync run finished", "sync recovered"]
    assert recovered[-1]["failed_runs"] == 1


# --- start-up failures: one clear line, no traceback -------------------------------------------------


def cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", *args, "--log-format", "console"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_start_up_failures_print_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "app-config.yaml").write_text(
            "openchoreo:\n  baseUrl: http://127.0.0.1:9\n  client: {retries: 1, backoffBase: 0.01}\n"
            f"  server: {{port: {port}}}\n"
        )
        run = cli("run", cwd=tmp_path)
    assert run.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in run.stderr
    assert "openchoreo.server.port" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) <= 2, run.stderr

    once = cli("once", cwd=tmp_path)
    assert once.returncode == 1
    assert "cannot reach the OpenChoreo API at http://127.0.0.1:9" in once.stderr
    assert "Traceback" not in once.stderr and len(once.stderr.splitlines()) <= 2, once.stderr

    (tmp_path / "app-config.yaml").write_text(
        "openchoreo:\n  baseUrl: http://x\n  schedule: {frequency: {minutes: 1}}\n"
    )
    check = cli("check", cwd=tmp_path)
    assert check.returncode == 2 and "openchoreo.schedule.frequency" in check.stderr
    assert "Traceback" not in check.stderr


def test_a_held_run_that_logs_too_much_is_printed_after_all(log_stream):
    log = structlog.get_logger("test")
    with holding_lines() as held:
        for i in range(MAX_HELD_LINES + 5):
            log.warning("line", n=i)
        assert not held.open, "past the limit, lines go out live"
    assert [line["n"] for line in lines(log_stream)] == list(range(MAX_HELD_LINES + 5)), "none lost, in order"
    with holding_lines() as held:
        log.warning("held")
    assert len(lines(log_stream)) == MAX_HELD_LINES + 5
    release(held)
    assert lines(log_stream)[-1]["event"] == "held"


async def test_a_task_outliving_a_held_run_logs_live(log_stream):
    log = structlog.get_logger("test")
    go = asyncio.Event()

    async def background() -> None:  # started inside the held run, e.g. by a plugin
        await go.wait()
        log.warning("late line")

    with holding_lines() as held:
        task = asyncio.create_task(background())
    held.clear()  # the run repeated the last failure: its own lines are dropped
    go.set()
    await task
    assert [line["event"] for line in lines(log_stream)] == ["late line"]
