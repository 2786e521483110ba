"""Two daemon processes on one PostgreSQL store: one leads, the other takes over when it dies.

Real processes (``openchoreo-sync run``), a real PostgreSQL schema, the mock OpenChoreo API in this
test process. Who ran what is read from the run records (``summary.replica`` = ``host:pid``) and
from each process's log lines.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.store.postgres import PostgresStore
from openchoreo_sync.store.sql import SqlStore
from openchoreo_sync.testing.polling import poll as shared_poll

pytestmark = pytest.mark.postgres

FREQUENCY = 1
"""seconds between ticks: how often a follower asks for the leader lock"""
SLACK = 6.0
"""allowed on top of one frequency for a takeover: process scheduling plus one run on a loaded CI box"""

T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Call ``probe`` until it returns a truthy value; fail after ``timeout`` seconds."""
    return shared_poll(probe, timeout=timeout, what=what)  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def replica_id(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[str]:
        out = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(str(json.loads(raw).get("event", "")))
            except (json.JSONDecodeError, AttributeError):
                out.append(raw)
        return out

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(self.url + path, timeout=5)
        except httpx.HTTPError:
            return None


@pytest.fixture
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(WorldSpec(namespaces=2, projects=2, components=4)) as m:
        yield m


@pytest.fixture
def start_replica(pg_dsn: str, mock: MockOpenChoreo, tmp_path: Path) -> Iterator[Callable[[str], Replica]]:
    started: list[Replica] = []

    def start(name: str) -> Replica:
        port = free_port()
        config = {
            "openchoreo": {
                "baseUrl": mock.url,
                "features": {"auth": {"enabled": False}},
                "schedule": {"frequency": FREQUENCY, "timeout": 30},
                "store": "postgres",
                "postgres": {"dsn": pg_dsn},
                "server": {"host": "127.0.0.1", "port": port},
                "client": {"backoffBase": 0.01, "timeout": 10},
                "events": {"enabled": False},
            }
        }
        config_path = tmp_path / f"{name}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        log_path = tmp_path / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "openchoreo_sync.cli",
                    "run",
                    "--config",
                    str(config_path),
                    "--log-format",
                    "json",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        replica = Replica(name, port, process, log_path)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        if replica.process.poll() is None:
            replica.process.send_signal(signal.SIGTERM)
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(timeout=5)


def committed_runs(store: SqlStore) -> list[tuple[str, str, str]]:
    """(started_at, status, replica) of every committed run, oldest first."""
    runs = store.recent_runs(limit=1000)
    return sorted((r.started_at, r.status, str(r.summary.get("replica"))) for r in runs if "replica" in r.summary)


def parse_time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def test_one_leader_syncs_and_the_other_takes_over_when_it_is_killed(
    pg_dsn: str, start_replica: Callable[[str], Replica]
) -> None:
    store = PostgresStore(pg_dsn)  # an observer: never elects, only reads
    try:
        replicas = [start_replica("a"), start_replica("b")]
        by_id = {r.replica_id: r for r in replicas}

        # 1. both up, three committed runs, every one of them by the same replica
        poll(
            "both replicas to serve",
            lambda: all((r.get("/healthz") or _no).status_code == 200 for r in replicas),
            60,
        )
        poll("three committed runs", lambda: len(committed_runs(store)) >= 3, 60)
        runners = {replica for _, _, replica in committed_runs(store)}
        assert len(runners) == 1, f"more than one replica ran syncs: {runners}"
        leader = by_id[runners.pop()]
        follower = next(r for r in replicas if r is not leader)
        assert all(status == "ok" for _, status, _ in committed_runs(store))
        assert "this replica runs the syncs (leader)" in leader.events()
        assert "this replica runs the syncs (leader)" not in follower.events()
        assert "another replica holds the leader lock; serving only" in follower.events()

        # 2. both serve the same snapshot from the shared store
        poll("the follower to be ready", lambda: (follower.get("/readyz") or _no).status_code == 200, 30)
        assert (leader.get("/readyz") or _no).status_code == 200
        expected = store.count()
        assert expected > 20
        catalog = [r.get("/api/catalog/entities") or _no for r in replicas]
        if any(c.status_code != 404 for c in catalog):  # 404: no embedded catalog plugin installed
            assert [c.status_code for c in catalog] == [200, 200]
            assert [len(c.json()) for c in catalog] == [expected, expected]

        # 3. SIGKILL the leader: the follower leads within one frequency (+ slack) and syncs
        killed_at = time.time()
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(timeout=10)

        def takeover() -> tuple[str, str, str] | None:
            mine = [run for run in committed_runs(store) if run[2] == follower.replica_id]
            return mine[0] if mine else None

        started_at, status, _ = poll("the follower to commit a run", takeover, FREQUENCY + SLACK + 30)
        delay = parse_time(started_at) - killed_at
        assert delay <= FREQUENCY + SLACK, f"takeover took {delay:.1f}s (frequency {FREQUENCY}s)"
        assert status == "ok"
        assert "this replica runs the syncs (leader)" in follower.events()
        assert store.count() == expected, "the new leader's first run must keep the same catalog"
        assert (follower.get("/readyz") or _no).status_code == 200
        assert follower.process.poll() is None
    finally:
        store.close()


class _NoResponse:
    status_code = 0


_no: Any = _NoResponse()
