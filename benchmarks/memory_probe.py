"""Where a sync's memory goes: peak RSS per engine stage, for three runs against one generated world.

    python benchmarks/memory_probe.py [--components 50000] [--runs 3] [--outputs files|none] [--allocator daemon|default]

A thread samples ``VmRSS`` every few milliseconds while the engine's stages are wrapped to say which
one is running (fetch+map, index load, relate, commit, emit); the table shows each stage's highest
sample, run by run, and the RSS left once the run is over. The mock API runs in its own process, as
in ``sync_bench.py``. Not part of pytest.

The process starts and runs as the daemon's does (``--allocator daemon``): glibc's heaps capped at
the CLI's start (``memory.limit_malloc_arenas``) and freed heap returned after each run, as the
daemon's loop does (``memory.release_free_memory``). ``--allocator default`` leaves both out, to
show what they are worth.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_bench import MockProcess, spec_args


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class StageSampler:
    """Highest RSS seen while each stage runs; the stage is whatever the wrapped call last set."""

    def __init__(self, interval: float = 0.005) -> None:
        self.stage = "idle"
        self.peaks: dict[str, float] = {}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> StageSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.note()

    def note(self) -> None:
        value = rss_mb()
        if value > self.peaks.get(self.stage, 0.0):
            self.peaks[self.stage] = value

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(function):

            @functools.wraps(function)
            async def awrapped(*args: Any, **kwargs: Any) -> Any:
                previous, self.stage = self.stage, name
                try:
                    return await function(*args, **kwargs)
                finally:
                    self.note()
                    self.stage = previous

            return awrapped

        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            previous, self.stage = self.stage, name
            try:
                return function(*args, **kwargs)
            finally:
                self.note()
                self.stage = previous

        return wrapped


STAGES = ("fetch+map", "load_index", "relate", "commit", "emit", "other")


async def probe(components: int, runs: int, files: bool, daemon_allocator: bool = True) -> list[dict[str, float]]:
    from openchoreo_sync import engine as engine_module
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.memory import limit_malloc_arenas, release_free_memory

    if daemon_allocator:
        limit_malloc_arenas()
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")
    mock = MockProcess(spec_args(components), 0)
    sampler = StageSampler()
    engine_module.fetch_and_map = sampler.wrap("fetch+map", engine_module.fetch_and_map)
    engine_module.relate_entities = sampler.wrap("relate", engine_module.relate_entities)
    rows: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            overrides = {
                "openchoreo": {
                    "schedule": {"timeout": 1800},
                    "client": {"timeout": 120},
                    "plugins": {"files": {"enabled": files, "directory": str(Path(tmp) / "files")}},
                }
            }
            harness = SyncHarness(mock.url, Path(tmp), overrides)
            store = harness.engine.store
            store.load_index = sampler.wrap("load_index", store.load_index)  # type: ignore[method-assign]
            store.commit = sampler.wrap("commit", store.commit)  # type: ignore[method-assign]
            outputs = harness.engine.outputs  # emit moved from the engine to its Outputs
            outputs.emit = sampler.wrap("emit", outputs.emit)  # type: ignore[method-assign]
            sampler.start()
            try:
                for number in range(1, runs + 1):
                    if number == runs and runs > 1:
                        mock.call("mutate", 0.01)
                    sampler.peaks = {}
                    sampler.stage = "other"
                    started = time.perf_counter()
                    result = await harness.run(trigger="probe")
                    seconds = time.perf_counter() - started
                    entities = len(result.entities)
                    result.entities.clear()
                    harness.results.clear()
                    if daemon_allocator:
                        release_free_memory()  # as the daemon's loop does after every run
                    row = {stage: sampler.peaks.get(stage, 0.0) for stage in STAGES}
                    row.update(run=number, seconds=seconds, entities=entities, after=rss_mb())
                    rows.append(row)
                    print(format_row(row), flush=True)
            finally:
                sampler.stop()
                await harness.close()
    finally:
        mock.stop()
    return rows


def format_row(row: dict[str, float]) -> str:
    cells = " | ".join(f"{row[stage]:.0f}" for stage in STAGES)
    return f"| {row['run']:.0f} | {row['entities']:,.0f} | {row['seconds']:.1f} s | {cells} | {row['after']:.0f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3, help="the last run follows a 1%% change in the mock")
    parser.add_argument("--outputs", choices=("files", "none"), default="files")
    parser.add_argument(
        "--allocator",
        choices=("daemon", "default"),
        default="daemon",
        help="daemon: glibc's heaps as the daemon sets them up and trims them; default: glibc's defaults",
    )
    args = parser.parse_args()
    print(
        f"# {args.components:,} components, RSS in MB (peak per stage), outputs {args.outputs}, allocator {args.allocator}"
    )
    print("| run | entities | wall | " + " | ".join(STAGES) + " | after |")
    print("|---:|---:|---:|" + "---:|" * len(STAGES) + "---:|")
    asyncio.run(probe(args.components, args.runs, args.outputs == "files", args.allocator == "daemon"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
