"""Crash test: the daemon's process is killed in the middle of writing a snapshot.

A child process opens the state store and commits a large snapshot whose writing is slowed down,
and is killed once it has handled half of it (so the kill surely lands inside the transaction).
Both commit paths are covered: a commit that first removes every stored entity takes the first-sync
bulk path (rows staged in temporary tables, moved in at the end); one that keeps an entity rewrites
in place, and is killed only after rows of the new snapshot reached the WAL. After the SIGKILL the
store, and the embedded catalog serving it, must hold the previous whole snapshot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from openchoreo_sync.serialization import serialize
from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
from openchoreo_sync.store.sqlite import SqliteStore

CHILD = textwrap.dedent(
    """
    import hashlib, sys, time
    from pathlib import Path
    import openchoreo_sync.store.sql as sql
    from openchoreo_sync.serialization import serialize
    from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
    from openchoreo_sync.store.sqlite import SqliteStore

    real_rows = sql.search_rows
    calls = 0
    def slow_rows(entity):
        global calls
        calls += 1
        if calls == 1500:
            print("HALF", flush=True)
        time.sleep(0.002)  # a slow disk: the transaction stays open for seconds
        return real_rows(entity)
    sql.search_rows = slow_rows

    store = SqliteStore(Path(sys.argv[1]))
    writes = []
    kept = int(sys.argv[2])
    for i in range(3000):
        pad = "".join(hashlib.sha256(f"{i}-{j}".encode()).hexdigest() for j in range(16))  # bodies do not compress
        entity = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                  "metadata": {"name": f"new-{i}", "namespace": "default"}, "spec": {"type": "service", "pad": pad}}
        body, digest = serialize(entity)
        writes.append(EntityWrite(f"component:default/new-{i}", entity, body, digest, "f:default/c", "f", False, ""))
    print("WRITING", flush=True)
    store.commit(Commit(RunRecord("run-b", "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "ok"), writes=writes,
                        removals=[f"component:default/old-{i}" for i in range(kept, 50)]))
    print("DONE", flush=True)
    """
)


def snapshot_a(path: Path) -> set[str]:
    store = SqliteStore(path)
    store.migrate()
    writes = []
    for i in range(50):
        entity = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": f"old-{i}", "namespace": "default"},
            "spec": {"type": "service"},
        }
        body, digest = serialize(entity)
        writes.append(EntityWrite(f"component:default/old-{i}", entity, body, digest, "f:default/c", "f", False, ""))
    store.commit(Commit(RunRecord("run-a", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "ok"), writes=writes))
    store.close()
    return {w.ref for w in writes}


@pytest.mark.parametrize("kept", [0, 1], ids=["first-sync-bulk-path", "rewrite-path"])
async def test_killed_during_a_write_keeps_the_previous_whole_snapshot(tmp_path, sync_harness_factory, kept):
    path = tmp_path / "state.sqlite3"
    before = snapshot_a(path)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(kept)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "WRITING"
    assert child.stdout.readline().strip() == "HALF", "the writer finished or died before half of its rows"
    wal = Path(str(path) + "-wal")
    deadline = time.monotonic() + 30
    while kept and not (wal.exists() and wal.stat().st_size > 512 * 1024):  # rows of the new snapshot are on disk
        assert child.poll() is None, "the writer finished before it could be killed"
        assert time.monotonic() < deadline, "the writer never wrote"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert "DONE" not in (child.stdout.read() or "")

    store = SqliteStore(path)
    assert set(store.load_index()) == before
    assert store.snapshot_version() == "run-a"
    assert set(store.match_refs([[("kind", ["component"])]]) or []) == before
    store.close()

    # The embedded catalog serves exactly that snapshot at restart, with OpenChoreo unreachable.
    harness = sync_harness_factory("http://127.0.0.1:9", state_dir=tmp_path)
    url = await harness.serve()
    async with httpx.AsyncClient() as http:
        assert (await http.get(url + "/readyz")).status_code == 200
        served = (await http.get(url + "/api/catalog/entities", params={"filter": "kind=component"})).json()
    assert {f"component:default/{e['metadata']['name']}" for e in served} == before
