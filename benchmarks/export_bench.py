"""``openchoreo-sync export`` (the real CLI, as a subprocess) next to the official module's fetch pattern.

    python benchmarks/export_bench.py [--components 2000] [--latency 20] [--runs 3] [--format yaml]

The mock API runs in a spawned process of its own (as in ``sync_bench.py``). Each export run is
the installed ``openchoreo-sync export`` started as a fresh process, so its figure includes the
interpreter's start, the imports, the fetch, map and relate, writing the YAML to a pipe and the
interpreter's exit; the child's own CPU time (user + system, from ``wait4``) is reported next to
the wall time. The baseline is ``sync_bench.baseline_walk`` (mapping-sync.md §2.3-2.4: one
collection at a time, one request in flight), once, on the same mock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_bench import MockProcess, baseline_walk, spec_args

CLI = str(Path(sys.executable).parent / "openchoreo-sync")


def run_export(config: Path, fmt: str) -> tuple[float, float, int, int]:
    """(wall s, child CPU s, bytes written, exit code) of one ``openchoreo-sync export``."""
    started = time.perf_counter()
    with subprocess.Popen(
        [CLI, "export", "--config", str(config), "--format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as process:
        assert process.stdout is not None
        size = len(process.stdout.read())
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, size, process.returncode


def compile_project() -> None:
    """Write the project's bytecode next to its sources (what ``pip install`` of the wheel does)."""
    import compileall

    import openchoreo_sync
    import openchoreo_sync.plugins

    roots = {Path(openchoreo_sync.__file__).parent, *map(Path, openchoreo_sync.plugins.__path__)}
    for root in sorted(roots):
        if not compileall.compile_dir(str(root), quiet=1):
            raise SystemExit(f"could not compile {root}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-compile", action="store_true", help="time the start without the project's bytecode")
    args = parser.parse_args()
    if not args.no_compile:
        compile_project()

    mock = MockProcess(spec_args(args.components), args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            state = Path(tmp) / "state"
            config.write_text(
                yaml.safe_dump(
                    {
                        "openchoreo": {
                            "baseUrl": mock.url,
                            "features": {"auth": {"enabled": False}},
                            "sqlite": {"path": str(state / "state.sqlite3")},
                            "client": {"timeout": 120},
                        }
                    }
                )
            )
            rows = []
            for _ in range(args.runs):
                wall, cpu, size, code = run_export(config, args.format)
                assert code == 0, f"export exited {code}"
                rows.append((wall, cpu, size))
                print(f"# export: {wall:.2f} s wall, {cpu:.2f} s CPU, {size:,} bytes", flush=True)
        baseline = None
        if not args.no_baseline:
            started = time.perf_counter()
            requests = asyncio.run(baseline_walk(mock.url))
            baseline = time.perf_counter() - started
            print(f"# baseline: {baseline:.1f} s, {requests} requests", flush=True)
    finally:
        mock.stop()
    wall = statistics.median(r[0] for r in rows)
    cpu = statistics.median(r[1] for r in rows)
    ratio = f"{baseline / wall:.1f}x" if baseline else "-"
    print("| components | latency ms | export wall (median) | export CPU | baseline | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
    base = f"{baseline:.1f} s" if baseline else "not run"
    print(f"| {args.components:,} | {args.latency} | {wall:.2f} s | {cpu:.2f} s | {base} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
