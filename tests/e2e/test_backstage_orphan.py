"""A killed test run leaves no Backstage behind.

The backend runs in a session of its own (so teardown can signal its whole group), which also means
nothing stops it when the test process is SIGKILLed and never reaches teardown. ``index.js`` watches
the launcher named in ``OPENCHOREO_E2E_PARENT_PID`` and exits once it is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.backstage_backend import REPO_ROOT, node_available

LAUNCHER = """
import sys, time
from tests.support.backstage_backend import BackstageBackend
backend = BackstageBackend().start()
print(backend._proc.pid, flush=True)
time.sleep(600)  # the process under test: killed long before this ends
"""


def _alive(pid: int) -> bool:
    """Running, and not a zombie (an orphan's new parent may be slow to reap it)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_backstage_exits_when_its_launcher_is_killed() -> None:
    reason = node_available()
    if reason:
        pytest.skip(reason)
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    node_pid = 0
    try:
        assert launcher.stdout is not None
        line = launcher.stdout.readline()  # the launcher prints once Backstage answers (or exits on failure)
        assert line.strip().isdigit(), f"launcher did not start Backstage (exit {launcher.poll()})"
        node_pid = int(line)
        assert _alive(node_pid)
        launcher.kill()  # SIGKILL: no teardown runs
        launcher.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _alive(node_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(node_pid), "Backstage outlived the process that started it"
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=10)
        if node_pid and _alive(node_pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node_pid, signal.SIGKILL)
