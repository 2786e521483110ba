"""Issue 13, items 7 and 8: a lost PostgreSQL and a frozen leader.

Two daemon subprocesses share one PostgreSQL schema, each through its own TCP proxy (so the test
can take the database away from one of them), with ``leaseSeconds: 3`` and frequency 1.

* item 8: with the leader's database gone, its catalog reads answer JSON 503s (never a
  traceback), ``/readyz`` says 503 and why, and its log says the store is unreachable, not that
  "another replica holds the leader lock"; the daemon lives on.
* item 7: SIGSTOP on the leader (a hung host) keeps its connections open; the follower takes over
  once the lease expired, within ``leaseSeconds`` plus a tick; after SIGCONT the old leader's
  writes are fenced (it logs the loss) and the catalog converges with nothing lost.
"""

from __future__ import annotations

import copy
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_helpers import DaemonProcess, TcpProxy, daemon_config

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.store.postgres import PostgresStore
from openchoreo_sync.testing.polling import poll
from tests.support.postgres import PG_HOST, PG_PORT, pg_schema

pytestmark = pytest.mark.postgres
LEASE = 3.0


@pytest.fixture
def schema_dsn() -> Iterator[str]:
    with pg_schema() as dsn:
        yield dsn


def through(dsn: str, proxy: TcpProxy) -> str:
    return re.sub(r"\bport=\d+", f"port={proxy.port}", dsn)


def runners(store: PostgresStore, since: str = "") -> list[str]:
    """The replica (host:pid) of every committed run started after ``since``, oldest first."""
    runs = sorted(store.recent_runs(limit=500), key=lambda r: r.started_at)
    return [str(r.summary["replica"]) for r in runs if "replica" in r.summary and r.started_at > since]


def test_lost_database_and_frozen_leader(tmp_path: Path, schema_dsn: str) -> None:
    proxies = [TcpProxy((PG_HOST, PG_PORT)), TcpProxy((PG_HOST, PG_PORT))]
    observer = PostgresStore(schema_dsn)
    daemons: list[DaemonProcess] = []
    with MockOpenChoreo(WorldSpec(seed=9, namespaces=1, projects=1, components=2, example=False)) as mock:
        try:
            for index, proxy in enumerate(proxies):
                config = daemon_config(
                    mock.url,
                    tmp_path,
                    {
                        "openchoreo": {
                            "store": "postgres",
                            "postgres": {"dsn": through(schema_dsn, proxy), "leaseSeconds": LEASE},
                        }
                    },
                )
                daemons.append(DaemonProcess(config, tmp_path / f"replica-{index}").start())
            poll(lambda: len(runners(observer)) >= 2, timeout=60, what="two committed runs")
            leader_id = runners(observer)[-1]
            leader = next(d for d in daemons if leader_id.endswith(f":{d.process.pid}"))  # type: ignore[union-attr]
            follower = next(d for d in daemons if d is not leader)
            leader_proxy = proxies[daemons.index(leader)]
            synced = leader.entity_names()

            # --- item 8: the leader's database goes away -----------------------------------
            leader_proxy.sever()
            response = poll(
                lambda: (r := leader.get("/api/catalog/entities")) is not None and r.status_code == 503 and r,
                timeout=30,
                what="catalog reads to answer 503 while the database is gone",
            )
            assert response.headers["content-type"].startswith("application/json"), response.text
            assert response.json()["error"]["name"] == "ServiceUnavailableError"
            assert "Traceback" not in response.text
            ready = poll(
                lambda: (r := leader.get("/readyz")) is not None and r.status_code == 503 and r,
                timeout=30,
                what="/readyz to report the lost store",
            )
            assert "store_reads" in ready.json()["degraded"], ready.text
            leader.wait_for("cannot hold leader election: the state store is unreachable", timeout=30)
            assert "another replica holds the leader lock" not in leader.log_text()
            assert leader.alive()
            leader_proxy.restore()
            poll(
                lambda: (r := leader.get("/readyz")) is not None and r.status_code == 200,
                timeout=60,
                what="the replica to recover once the database is back",
            )
            assert synced <= leader.entity_names()

            # --- item 7: the leader freezes ------------------------------------------------
            current_id = poll(lambda: runners(observer)[-1:], timeout=30, what="a run after the outage")[0]
            leader = next(d for d in daemons if current_id.endswith(f":{d.process.pid}"))  # type: ignore[union-attr]
            follower = next(d for d in daemons if d is not leader)
            assert leader.process is not None and follower.process is not None
            mark = observer.recent_runs(limit=1)[0].started_at
            leader.process.send_signal(signal.SIGSTOP)
            frozen_at = time.monotonic()
            try:
                namespace = mock.world.namespaces()[0]
                env = copy.deepcopy(mock.world.items("environments", namespace)[0])
                env["metadata"] = {"name": "after-freeze"}
                mock.world.put("environments", namespace, env)
                follower_id = f":{follower.process.pid}"
                poll(
                    lambda: any(r.endswith(follower_id) for r in runners(observer, mark)),
                    timeout=LEASE * 10,
                    what="the follower to take over from the frozen leader",
                )
                takeover = time.monotonic() - frozen_at
                print(f"\nfrozen leader replaced after {takeover:.1f} s (leaseSeconds {LEASE:g}, frequency 1 s)")
                poll(
                    lambda: f"Environment:{namespace}/after-freeze" in follower.entity_names(),
                    timeout=30,
                    what="the new leader's run to be served",
                )
            finally:
                leader.process.send_signal(signal.SIGCONT)
            leader.wait_for("lost the leader lease", timeout=30)
            woke = observer.recent_runs(limit=1)[0].started_at
            poll(lambda: len(runners(observer, woke)) >= 3, timeout=30, what="three more runs after the wake-up")
            assert all(r.endswith(follower_id) for r in runners(observer, woke)), runners(observer, woke)
            assert synced <= follower.entity_names()
            assert all(d.alive() for d in daemons)
        finally:
            for daemon in daemons:
                if daemon.process is not None and daemon.process.poll() is None:
                    daemon.process.send_signal(signal.SIGCONT)
                daemon.stop()
            observer.close()
            for proxy in proxies:
                proxy.close()
