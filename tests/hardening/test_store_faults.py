"""Issue 13, item 1: SQLite locked by another process, then a full disk, then a restart on that full disk.

One daemon subprocess (frequency 1) on a SQLite file in a 6 MB tmpfs. Under each fault the daemon
stays alive, the catalog API keeps answering the last committed snapshot (nothing lost), /readyz and
``status`` say what is degraded, and once the cause is gone the next run converges by itself.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_helpers import DaemonProcess, daemon_config

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.polling import poll

SPEC = WorldSpec(seed=5, namespaces=2, projects=1, components=2, example=False)


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs: a disk that really fills up (ENOSPC), without filling the machine's."""
    mount = tmp_path / "vol"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs for the full-disk test needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(volume: Path) -> Path:
    """Write until the volume refuses even one more byte."""
    filler = volume / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def add_environment(mock: MockOpenChoreo, name: str) -> str:
    namespace = mock.world.namespaces()[0]
    env = copy.deepcopy(mock.world.items("environments", namespace)[0])
    env["metadata"] = {"name": name}
    mock.world.put("environments", namespace, env)
    return f"Environment:{namespace}/{name}"


def readyz(daemon: DaemonProcess) -> dict:
    response = daemon.get("/readyz")
    assert response is not None, "the catalog API must keep answering"
    assert response.status_code == 200, response.text
    return response.json()


def test_locked_then_full_disk_then_restart_on_full_disk(tmp_path: Path, volume: Path) -> None:
    with MockOpenChoreo(SPEC) as mock:
        config = daemon_config(
            mock.url,
            volume,
            {"openchoreo": {"sqlite": {"busyTimeout": 1}, "schedule": {"frequency": 1}}},
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            daemon.wait_for_run(after=0)
            synced = daemon.entity_names()
            assert len(synced) > 20

            # 1. another process holds the write lock (an operator's sqlite3 shell)
            holder = sqlite3.connect(volume / "state.sqlite3", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            locked_env = add_environment(mock, "while-locked")
            failed = daemon.count("the state store failed")
            event = daemon.wait_for("the state store failed", after=failed)
            assert "locked" in event["error"] and "another process holds its write lock" in event["error"]
            assert daemon.alive()
            assert daemon.entity_names() == synced, "a failed commit must leave the served snapshot whole"
            health = poll(
                lambda: (h := readyz(daemon))["status"] == "degraded" and h, timeout=15, what="/readyz to say degraded"
            )
            assert "locked" in health["degraded"]["store"], health
            shown = daemon.cli("status")
            assert shown.returncode == 0, shown.stderr
            assert "degraded store" in shown.stdout and "locked" in shown.stdout, shown.stdout
            holder.execute("ROLLBACK")
            holder.close()
            poll(lambda: locked_env in daemon.entity_names(), timeout=30, what="the run after the lock to converge")
            poll(lambda: readyz(daemon)["status"] == "ready", timeout=30, what="/readyz to clear the degradation")

            # 2. the disk fills up
            before_full = daemon.entity_names()
            assert synced | {locked_env} <= before_full
            filler = fill(volume)
            full_env = add_environment(mock, "while-full")
            failed = daemon.count("the state store failed")
            event = daemon.wait_for("the state store failed", after=failed)
            assert "full" in event["error"] or "disk" in event["error"], event
            assert daemon.alive()
            assert daemon.entity_names() == before_full
            poll(lambda: "store" in readyz(daemon)["degraded"], timeout=15, what="/readyz to name the store")

            # 3. a restart on a full disk. SQLite must create its WAL files even to read; with them
            # gone (a clean shutdown checkpoints and deletes them) opening failed with "disk I/O
            # error" and the daemon exited. Now it starts read-only and serves the stored snapshot.
            assert daemon.stop() == 0, daemon.log_text()[-3000:]
            filler.unlink()
            last = sqlite3.connect(volume / "state.sqlite3")
            last.execute("SELECT COUNT(*) FROM entities").fetchall()
            last.close()  # the last connection checkpoints and removes -wal and -shm
            assert not (volume / "state.sqlite3-wal").exists()
            filler = fill(volume)
            daemon.start()
            health = poll(lambda: (h := readyz(daemon))["degraded"].get("store") and h, timeout=30, what="degraded")
            assert "read-only" in health["degraded"]["store"], health
            assert daemon.entity_names() == before_full, "the intact stored snapshot must be served read-only"

            # 4. space comes back: the next run recovers by itself
            filler.unlink()
            poll(lambda: full_env in daemon.entity_names(), timeout=60, what="the run after the full disk")
            poll(lambda: readyz(daemon)["status"] == "ready", timeout=30, what="/readyz to clear read-only")
            assert before_full <= daemon.entity_names()
            assert daemon.alive()
        finally:
            daemon.stop()
