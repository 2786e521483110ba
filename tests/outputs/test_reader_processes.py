"""Reader processes (``openchoreo.server.readProcesses``): real processes on the real public port.

The daemon runs in this test process (``SyncHarness``); its readers are real child processes
serving real HTTP on 127.0.0.1, reading the same SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_embedded_catalog_helpers import CATALOG

from openchoreo_sync.config import validate_config
from openchoreo_sync.config_loader import load_raw_config
from openchoreo_sync.errors import ConfigError
from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.testing.polling import apoll

TOKEN = "reader-processes-test-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
QUERIES = [
    f"{CATALOG}/entities/by-name/component/default/api-service",
    f"{CATALOG}/entities?filter=kind=component&limit=3",
    f"{CATALOG}/entities?filter=kind=component&limit=3&offset=3",
    f"{CATALOG}/entities?filter=kind=component,spec.type=service&fields=metadata.name&order=desc:metadata.name",
    f"{CATALOG}/entities/by-query?filter=kind=api&limit=2",
    f"{CATALOG}/entity-facets?facet=kind&facet=spec.type",
    f"{CATALOG}/entities/by-name/component/default/no-such-thing",
    f"{CATALOG}/entities?filter=nonsense",
]


def _config(read_processes: int) -> dict[str, Any]:
    return {"openchoreo": {"server": {"readProcesses": read_processes, "token": TOKEN}}}


async def _served(mock: MockOpenChoreo, factory: Any, tmp: Path, read_processes: int) -> tuple[Any, str]:
    harness = factory(mock.url, _config(read_processes), state_dir=tmp)
    result = await harness.run()
    assert result.status == "ok", result.summary
    return harness, await harness.serve()


def _pids(harness: Any) -> dict[int, int]:
    readers = harness.daemon.readers
    return {index: proc.pid for index, proc in readers.processes.items()} if readers else {}


async def test_readers_answer_every_read_as_the_daemon_does_and_forward_the_rest(
    mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any, tmp_path: Path
) -> None:
    plain, plain_url = await _served(mock_openchoreo, sync_harness_factory, tmp_path / "plain", 0)
    readers, readers_url = await _served(mock_openchoreo, sync_harness_factory, tmp_path / "readers", 2)
    assert len(_pids(readers)) == 2 and not _pids(plain)
    async with (
        httpx.AsyncClient(base_url=plain_url, headers=AUTH, timeout=30) as direct,
        httpx.AsyncClient(base_url=readers_url, headers=AUTH, timeout=30) as replica,
    ):
        for path in QUERIES:
            mine, theirs = await replica.get(path), await direct.get(path)
            assert (mine.status_code, mine.content) == (theirs.status_code, theirs.content), path
            assert mine.headers.get("link") == theirs.headers.get("link"), path
        refs = {"entityRefs": ["component:default/api-service", "component:default/nope"]}
        mine = await replica.post(f"{CATALOG}/entities/by-refs", json=refs)
        theirs = await direct.post(f"{CATALOG}/entities/by-refs", json=refs)
        assert (mine.status_code, mine.content) == (theirs.status_code, theirs.content)

        # forwarded to the daemon's own process: probes, metrics, the sync API, the web UI
        ready = await replica.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "degraded": {}}, ready.text
        assert (await replica.get("/healthz")).text == "ok"
        metrics = await replica.get("/metrics")
        assert metrics.status_code == 200 and "openchoreo_sync" in metrics.text
        status = await replica.get("/api/sync/v1/status")
        assert status.status_code == 200, status.text
        assert status.json()["snapshotId"] == readers.store.snapshot_version()
        assert (await replica.get("/ui/", follow_redirects=False)).status_code == (
            await direct.get("/ui/", follow_redirects=False)
        ).status_code

        # the token is checked on both kinds of route
        for path in (QUERIES[0], "/api/sync/v1/status"):
            denied = await replica.get(path, headers={"authorization": "Bearer wrong"})
            assert denied.status_code == 401, (path, denied.text)
            assert denied.json()["error"]["name"] == "AuthenticationError"
        wrong_method = await replica.post(f"{CATALOG}/entity-facets")
        assert wrong_method.status_code == (await direct.post(f"{CATALOG}/entity-facets")).status_code == 405


async def test_a_reader_answers_while_the_daemons_own_loop_is_blocked(
    mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any, tmp_path: Path
) -> None:
    """A sync that holds the daemon's loop (map, relate, reconcile) no longer holds reads."""
    harness, url = await _served(mock_openchoreo, sync_harness_factory, tmp_path, 1)
    answered = threading.Event()
    seen: list[int] = []

    def read() -> None:
        with httpx.Client(base_url=url, headers=AUTH, timeout=20) as client:
            seen.append(client.get(QUERIES[0]).status_code)
            seen.append(client.get(f"{CATALOG}/entity-facets?facet=kind").status_code)
        answered.set()

    threading.Thread(target=read, daemon=True).start()
    # Block this (the daemon's) event loop until the reads are answered, bounded: with the reads
    # served by this process they could only be answered once the loop runs again.
    assert answered.wait(timeout=20), "no answer while the daemon's loop was busy"
    assert seen == [200, 200]
    assert harness.daemon.http is not None


async def test_a_killed_reader_is_restarted_and_never_takes_the_daemon_down(
    mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any, tmp_path: Path
) -> None:
    harness, url = await _served(mock_openchoreo, sync_harness_factory, tmp_path, 2)
    pool = harness.daemon.readers
    before = _pids(harness)
    os.kill(before[0], signal.SIGKILL)
    restarted = await apoll(
        lambda: (pid := _pids(harness).get(0)) not in (None, before[0]) and pool.degraded() is None and pid,
        timeout=30,
        what="the killed reader to be replaced and serving",
    )
    assert _pids(harness)[1] == before[1]  # the other reader was left alone
    assert pool.restarts == 1
    result = await harness.run()  # the daemon syncs on
    assert result.status == "ok", result.summary
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as client:
        for _ in range(8):  # both readers (the kernel spreads new connections over them) answer
            async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as fresh:
                assert (await fresh.get(QUERIES[0])).status_code == 200
        assert (await client.get("/readyz")).json()["status"] == "ready"
    assert restarted != before[0]


async def test_a_reader_whose_daemon_is_gone_stops_by_itself(
    mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any, tmp_path: Path
) -> None:
    """Its standard input is the daemon's end of a pipe: a daemon killed outright closes it."""
    harness, _url = await _served(mock_openchoreo, sync_harness_factory, tmp_path, 1)
    proc = harness.daemon.readers.processes[0]
    assert proc.stdin is not None
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0
    await apoll(lambda: harness.daemon.readers.degraded() is None, timeout=30, what="a replacement reader")


async def test_stop_ends_every_reader_and_removes_the_private_socket(
    mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any, tmp_path: Path
) -> None:
    harness, url = await _served(mock_openchoreo, sync_harness_factory, tmp_path, 2)
    procs = list(harness.daemon.readers.processes.values())
    private = harness.daemon._private.directory
    assert private.exists() and oct(private.stat().st_mode & 0o777) == "0o700"
    await harness.close()
    assert all(proc.returncode is not None for proc in procs)
    assert not private.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=5)


@pytest.mark.parametrize("value", [-1, 17, "two"])
def test_read_processes_is_validated(value: object) -> None:
    raw = load_raw_config(
        [], inline=[("test", {"openchoreo": {"baseUrl": "http://x", "server": {"readProcesses": value}}})]
    )
    with pytest.raises(ConfigError, match="readProcesses"):
        validate_config(raw)


async def test_readers_serve_a_postgresql_store(mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any) -> None:
    """A reader reads the shared database with connections of its own (no migration, no election)."""
    from tests.support.postgres import pg_schema

    with pg_schema() as dsn:
        overrides = {
            **_config(1),
            "openchoreo": {**_config(1)["openchoreo"], "store": "postgres", "postgres": {"dsn": dsn}},
        }
        harness = sync_harness_factory(mock_openchoreo.url, overrides)
        result = await harness.run()
        assert result.status == "ok", result.summary
        url = await harness.serve()
        try:
            assert _pids(harness)
            async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as client:
                named = await client.get(QUERIES[0])
                assert named.status_code == 200, named.text
                assert named.json()["metadata"]["name"] == "api-service"
                facets = (await client.get(f"{CATALOG}/entity-facets?facet=kind")).json()["facets"]["kind"]
                assert sum(f["count"] for f in facets) == harness.store.count()
        finally:
            await harness.close()


def _slice_ns(pid: int | str, task: int | None = None) -> int | None:
    """The scheduler's time slice of a process's main thread, or of one of its threads
    (``se.slice`` in /proc), if the kernel shows it."""
    path = f"/proc/{pid}/sched" if task is None else f"/proc/{pid}/task/{task}/sched"
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split(":")[1]) for line in lines if line.startswith("se.slice")), None)


def _kernel_takes_slices() -> bool:
    """Whether this kernel honours a custom slice (6.12+): tried on a thread of this process."""
    from openchoreo_sync.sched_slice import request_slice

    seen: list[int | None] = []

    def probe() -> None:
        refused = request_slice(0.3)
        seen.append(None if refused else _slice_ns("self", threading.get_native_id()))

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return seen == [300_000]


async def test_readers_ask_for_the_configured_time_slice(
    mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any, tmp_path: Path
) -> None:
    """``readerSliceMs`` reaches each reader's serving thread, 0.1 ms by default; null keeps the kernel's."""
    if not _kernel_takes_slices():
        pytest.skip("this kernel has no custom scheduler slices (Linux 6.12+)")
    kernel_default = _slice_ns(os.getpid())  # null: whatever the kernel gives (0.1 ms too on some machines)
    short = {"openchoreo": {"server": {"readProcesses": 2, "token": TOKEN, "readerSliceMs": 0.25}}}
    kernels = {"openchoreo": {"server": {"readProcesses": 1, "token": TOKEN, "readerSliceMs": None}}}
    harnesses = {
        name: sync_harness_factory(mock_openchoreo.url, config, state_dir=tmp_path / name)
        for name, config in (("short", short), ("default", _config(1)), ("kernel", kernels))
    }
    try:
        for harness in harnesses.values():
            assert (await harness.run()).status == "ok"
            await harness.serve()
        slices = {name: sorted(_slice_ns(pid) for pid in _pids(h).values()) for name, h in harnesses.items()}
        assert slices == {"short": [250_000, 250_000], "default": [100_000], "kernel": [kernel_default]}
    finally:
        for harness in harnesses.values():
            await harness.close()


@pytest.mark.parametrize("value", [0.05, 101, "short"])
def test_reader_slice_is_validated(value: object) -> None:
    raw = load_raw_config(
        [], inline=[("test", {"openchoreo": {"baseUrl": "http://x", "server": {"readerSliceMs": value}}})]
    )
    with pytest.raises(ConfigError, match="readerSliceMs"):
        validate_config(raw)
