"""Issue 13, item 10: SIGTERM while a run is in flight shuts the daemon down cleanly.

The daemon subprocess syncs from a mock whose every answer is slow, so a run is always fetching
when the signal comes; the in-flight run is cancelled, every task it started is awaited, and the
process exits 0 without asyncio's "Task exception was never retrieved" (or any traceback) on its
output.
"""

from __future__ import annotations

import re
from pathlib import Path

from hardening_helpers import DaemonProcess, daemon_config

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.polling import poll

SPEC = WorldSpec(seed=3, namespaces=3, projects=2, components=4, example=False)


def test_sigterm_mid_run_exits_cleanly(tmp_path: Path) -> None:
    with MockOpenChoreo(SPEC) as mock:
        for attempt in range(3):  # the signal lands at a different point of the fetch each time
            mock.faults.set_latency(0)
            config = daemon_config(mock.url, tmp_path / f"s{attempt}", {"openchoreo": {"schedule": {"timeout": 60}}})
            daemon = DaemonProcess(config, tmp_path / f"daemon{attempt}")
            mock.faults.set_latency(400)
            before = mock.stats.count()
            daemon.start()
            enough = before + 3 * (attempt + 1)
            poll(lambda: mock.stats.count() > enough, timeout=60, what="a run in flight")  # noqa: B023
            assert not daemon.finished_runs(), "the run must still be in flight when the signal comes"
            code = daemon.stop()
            output = daemon.log_text()
            assert "in-flight run cancelled for shutdown" in output, output[-3000:]
            assert "Task exception was never retrieved" not in output, output[-3000:]
            assert not re.search(r"^Traceback", output, re.M), output[-3000:]
            assert code == 0, f"exit code {code}:\n{output[-3000:]}"
