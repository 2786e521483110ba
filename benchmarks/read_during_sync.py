"""Do syncs and reads slow each other? One daemon serving by-name reads while it syncs.

    python benchmarks/read_during_sync.py [--components 10000] [--latency 20] [--readers 8] [--rounds 3]

A daemon process (``SyncHarness``: HTTP server and engine on one event loop, as in production)
syncs a generated world from the mock API (a process of its own); this process is the load
generator (``read_api.hammer``: keep-alive HTTP/1.1, httptools on uvloop). Every measured sync
follows an upstream edit of ``--changed`` of the components (a new description), so it maps,
relates, commits and reconciles real work. Per round:

* the sync alone (no readers), then the same sync while ``--readers`` connections ask by-name
  for random components as fast as they are answered;
* by-name latency with no sync running (one 3 s window), then during the sync (one window from
  the sync's start to its end), each on ``--readers`` kept-alive connections opened at its start.

It prints the sync's wall time idle and under reads (target: at most 1.2x) and by-name p50/p99
idle and during the sync (target: p99 at most 1.5x). Medians over ``--rounds``. On a shared
2-core machine the figures are noisy; compare medians of several rounds.

Extra rows, from ``/proc`` (Linux), say where the time goes: the reader processes' CPU per
request and the time their main threads spent runnable but waiting for a core (run-queue wait,
``/proc/<pid>/schedstat``) per request, idle and during the sync; this process's (the load
generator's) CPU per request; the daemon's and the mock API's CPU for the sync alone and for the
sync under reads. A reader that costs the same CPU per request during a sync but waits longer for
a core is slowed by scheduling, not by the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from read_api import CATALOG, hammer  # noqa: E402
from sync_bench import MockProcess, spec_args  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SYNC_BOUND_S = 600.0  # the longest a window during a sync lasts (a sync that hangs)


def cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """User + system CPU of a process (all its threads), or its system CPU alone, from ``/proc/<pid>/stat``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[12]) + (0 if system_only else int(fields[11]))) / TICK


def runqueue_wait(pid: int) -> float:
    """Seconds the process's main thread was runnable but not running (``/proc/<pid>/schedstat``)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the daemon's reader processes)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


class Meter:
    """CPU of the daemon, its readers, the mock and this process, and the readers' run-queue wait."""

    def __init__(self, daemon: int, mock: int) -> None:
        self.daemon, self.mock, self.readers = daemon, mock, children(daemon)

    def sample(self) -> dict[str, float]:
        return {
            "daemon": cpu_seconds(self.daemon),
            "mock": cpu_seconds(self.mock),
            "readers": sum(cpu_seconds(r) for r in self.readers),
            "readers_sys": sum(cpu_seconds(r, system_only=True) for r in self.readers),
            "wait": sum(runqueue_wait(r) for r in self.readers),
            "client": time.process_time(),
            "client_wait": runqueue_wait(os.getpid()),
        }

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: after[k] - before[k] for k in before}


def daemon_child(mock_url: str, state_dir: Path, read_processes: int, reader_slice: str) -> None:
    """``--daemon``: serve HTTP and run a sync for every ``sync`` line on stdin; one JSON line back."""
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")

    async def main() -> None:
        server: dict[str, object] = {"readProcesses": read_processes}
        if reader_slice != "default":  # "off": null, the kernel's own slice
            server["readerSliceMs"] = None if reader_slice == "off" else float(reader_slice)
        overrides = {
            "openchoreo": {
                "schedule": {"timeout": 1800},
                "client": {"timeout": 120},
                "events": {"enabled": False},
                "server": server,
            }
        }
        harness = SyncHarness(mock_url, state_dir, overrides)
        print(json.dumps({"url": await harness.serve()}), flush=True)
        loop = asyncio.get_running_loop()
        try:
            while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "sync":
                started = time.perf_counter()
                result = await harness.run(trigger="bench")
                seconds = time.perf_counter() - started
                names = [
                    (str(e["metadata"].get("namespace", "default")), str(e["metadata"]["name"]))
                    for e in result.entities.values()
                    if e["kind"] == "Component"
                ]
                result.entities.clear()
                harness.results.clear()
                summary = {"status": result.status, "seconds": seconds, "phases": result.summary.get("seconds")}
                print(json.dumps({**summary, "components": names[:500]}), flush=True)
        finally:
            await harness.close()

    asyncio.run(main())


class Daemon:
    def __init__(self, mock_url: str, state_dir: Path, read_processes: int, reader_slice: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--daemon", mock_url, str(state_dir), str(read_processes), reader_slice],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = str(self._answer()["url"])

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the daemon process exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def sync_started(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("sync\n")
        self.proc.stdin.flush()

    async def sync(self) -> dict[str, Any]:
        self.sync_started()
        return await asyncio.to_thread(self._answer)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


async def round_trip(
    daemon: Daemon, mock: MockProcess, paths: list[str], readers: int, changed: float, meter: Meter
) -> dict[str, float]:
    row: dict[str, float] = {}
    mock.call("mutate", changed)
    before = meter.sample()
    alone = await daemon.sync()
    row["sync_idle_s"] = alone["seconds"]
    row.update({f"phase_{k}_idle_s": v for k, v in (alone["phases"] or {}).items()})
    cpu = meter.delta(before, meter.sample())
    row["daemon_cpu_idle_s"], row["mock_cpu_idle_s"] = cpu["daemon"], cpu["mock"]
    # Warm up first: right after a commit the reader switches snapshots and its connections are
    # new; without this, that one-off work landed in the idle window (idle p99 above the p99
    # during a sync), while the windows during a sync are each preceded by another window.
    await hammer(daemon.url, paths, readers, 0.5)
    before = meter.sample()
    idle = await hammer(daemon.url, paths, readers, 3.0)
    cpu = meter.delta(before, meter.sample())
    row["p50_idle_ms"], row["p99_idle_ms"], row["rps_idle"] = idle["p50_ms"], idle["p99_ms"], idle["rps"]
    n = max(1, idle["requests"])
    row["reader_cpu_idle_us"] = cpu["readers"] / n * 1e6
    row["reader_sys_idle_us"] = cpu["readers_sys"] / n * 1e6
    row["reader_wait_idle_us"] = cpu["wait"] / n * 1e6
    row["client_cpu_idle_us"] = cpu["client"] / n * 1e6
    row["client_wait_idle_us"] = cpu["client_wait"] / n * 1e6
    mock.call("mutate", changed)
    before = meter.sample()
    sync = asyncio.create_task(daemon.sync())
    # One window on the same kept-alive connections for the whole sync, ended by it: the idle
    # window is one such window too, so neither side pays more connection set-ups per request.
    during = await hammer(daemon.url, paths, readers, SYNC_BOUND_S, stop=sync)
    loaded = await sync
    row["sync_loaded_s"] = loaded["seconds"]
    row.update({f"phase_{k}_loaded_s": v for k, v in (loaded["phases"] or {}).items()})
    cpu = meter.delta(before, meter.sample())
    row["p50_sync_ms"], row["p99_sync_ms"], row["rps_sync"] = during["p50_ms"], during["p99_ms"], during["rps"]
    n = max(1, during["requests"])
    row["reader_cpu_sync_us"] = cpu["readers"] / n * 1e6
    row["reader_sys_sync_us"] = cpu["readers_sys"] / n * 1e6
    row["reader_wait_sync_us"] = cpu["wait"] / n * 1e6
    row["client_cpu_sync_us"] = cpu["client"] / n * 1e6
    row["client_wait_sync_us"] = cpu["client_wait"] / n * 1e6
    row["daemon_cpu_loaded_s"], row["mock_cpu_loaded_s"] = cpu["daemon"], cpu["mock"]
    return row


async def measure(
    size: int,
    latency: int,
    readers: int,
    rounds: int,
    changed: float,
    read_processes: int,
    reader_slice: str,
) -> list[dict[str, float]]:
    mock = MockProcess(spec_args(size), latency)
    try:
        with tempfile.TemporaryDirectory(prefix="read-during-sync-") as tmp:
            daemon = Daemon(mock.url, Path(tmp), read_processes, reader_slice)
            meter = Meter(daemon.proc.pid, mock.process.pid or 0)
            try:
                first = await daemon.sync()
                print(f"first sync: {first['seconds']:.2f} s ({first['status']})", flush=True)
                rng = random.Random(3)
                picked = rng.sample(first["components"], min(200, len(first["components"])))
                paths = [f"{CATALOG}/entities/by-name/component/{ns}/{name}" for ns, name in picked]
                rows = []
                for n in range(rounds):
                    row = await round_trip(daemon, mock, paths, readers, changed, meter)
                    print(f"round {n + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
                    rows.append(row)
                return rows
            finally:
                daemon.stop()
    finally:
        mock.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=20, help="ms the mock adds to every API request")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changed", type=float, default=0.5, help="fraction of components edited before a sync")
    parser.add_argument(
        "--read-processes", type=int, default=1, help="the daemon's openchoreo.server.readProcesses (0: in-process)"
    )
    parser.add_argument(
        "--reader-slice-ms",
        default="default",
        help="the daemon's openchoreo.server.readerSliceMs in ms, 'off' for null (the kernel's slice), "
        "or 'default' (the config's default, 0.1)",
    )
    parser.add_argument("--daemon", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.daemon:
        daemon_child(args.daemon[0], Path(args.daemon[1]), int(args.daemon[2]), args.daemon[3])
        return 0
    # The load generator on uvloop: it shares the 2 cores with the daemon, its reader and the mock,
    # and asyncio's own loop costs it more CPU per request than the reader spends answering.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        rows = runner.run(
            measure(
                args.components,
                args.latency,
                args.readers,
                args.rounds,
                args.changed,
                args.read_processes,
                args.reader_slice_ms,
            )
        )
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print()
    print(
        f"{args.components:,} components, {args.latency} ms, {args.readers} by-name readers, "
        f"readProcesses {args.read_processes}, readerSliceMs {args.reader_slice_ms}, median of {args.rounds}"
    )
    print("| | idle | under reads / during sync | ratio | target |\n|---|---:|---:|---:|---:|")
    print(
        f"| sync wall time | {med['sync_idle_s']:.2f} s | {med['sync_loaded_s']:.2f} s "
        f"| {med['sync_loaded_s'] / med['sync_idle_s']:.2f}x | <= 1.2x |"
    )
    print(
        f"| by-name p99 | {med['p99_idle_ms']:.1f} ms | {med['p99_sync_ms']:.1f} ms "
        f"| {med['p99_sync_ms'] / med['p99_idle_ms']:.2f}x | <= 1.5x |"
    )
    print(
        f"| by-name p50 | {med['p50_idle_ms']:.1f} ms | {med['p50_sync_ms']:.1f} ms "
        f"| {med['p50_sync_ms'] / med['p50_idle_ms']:.2f}x | |"
    )
    print(f"| by-name req/s | {med['rps_idle']:,.0f} | {med['rps_sync']:,.0f} | | |")
    for label, key, unit in (
        ("reader CPU per request", "reader_cpu", "µs"),
        ("of which in the kernel", "reader_sys", "µs"),
        ("reader run-queue wait per request", "reader_wait", "µs"),
        ("load generator CPU per request", "client_cpu", "µs"),
        ("load generator run-queue wait per request", "client_wait", "µs"),
    ):
        idle, sync = med[f"{key}_idle_us"], med[f"{key}_sync_us"]
        print(f"| {label} | {idle:.0f} {unit} | {sync:.0f} {unit} | {sync / max(idle, 1e-9):.2f}x | |")
    phases = [k[len("phase_") : -len("_idle_s")] for k in med if k.startswith("phase_") and k.endswith("_idle_s")]
    for phase in phases:
        idle, loaded = med[f"phase_{phase}_idle_s"], med.get(f"phase_{phase}_loaded_s", float("nan"))
        print(f"| the sync's {phase} phase | {idle:.2f} s | {loaded:.2f} s | {loaded / max(idle, 1e-9):.2f}x | |")
    for label, key in (("daemon CPU for the sync", "daemon_cpu"), ("mock API CPU for the sync", "mock_cpu")):
        idle, loaded = med[f"{key}_idle_s"], med[f"{key}_loaded_s"]
        print(f"| {label} | {idle:.2f} s | {loaded:.2f} s | {loaded / max(idle, 1e-9):.2f}x | |")
    print(f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
