"""Full-sync benchmark: generated worlds of 1k/10k/50k components from the mock OpenChoreo API.

    python benchmarks/sync_bench.py [--sizes 1000,10000,50000] [--latency 0,20] [--baseline-max 10000]

Every (size, latency) pair runs in a FRESH subprocess (so peak RSS is that sync's own), and inside
it the mock API runs in ANOTHER process (spawned, its own GIL) so serving 50k objects does not
steal the sync's interpreter. On a 2-core box the two processes share the cores, like a daemon
next to a busy API server would. Per pair it measures:

* a full first sync (empty SQLite store, ``files`` output enabled): wall time, requests the mock
  served vs the minimum (sum over listed collections and namespaces of max(1, ceil(items/100))),
  map+relate throughput (entities / (map + relate seconds of the run summary)), peak RSS;
* a second run with no change (it must write nothing to any output), then a run after 1% of the
  components changed in the mock;
* the official module's fetch pattern (mapping-sync.md §2.3-2.4: one collection at a time, one
  request in flight, ``components?project=`` per project and ``workloads?component=`` per
  component, schema calls per type) as a side-by-side baseline; HTTP walk only, no mapping.

Not part of pytest: it takes minutes. Prints a Markdown table (and ``--json`` writes raw rows).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PAGE = 100


def spec_args(size: int) -> dict[str, int]:
    """(namespaces, projects per namespace, components per project) giving ``size`` components."""
    components = 20
    per_ns = 50 if size >= 50_000 else 25 if size >= 10_000 else 10
    namespaces = max(1, size // (per_ns * components))
    return {"namespaces": namespaces, "projects": per_ns, "components": components}


# --- the mock, in its own process ------------------------------------------------------------


def mock_main(conn: Connection, spec: dict[str, int], latency_ms: int) -> None:
    """Serve the mock and answer commands from the benchmark over a pipe."""
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec

    configure_logging(level="warning")
    mock = MockOpenChoreo(WorldSpec(**spec), latency_ms=latency_ms).start(timeout=120)
    world = mock.world
    # The world is built: out of the collector's sight. Its full collections otherwise stopped the
    # mock for ~0.3 s at 10k components every few runs (mid-run, in whichever run they fell),
    # which the figures put on the sync; the real API is a Go process.
    gc.freeze()
    conn.send(mock.url)
    while True:
        command, arg = conn.recv()
        if command == "stop":
            mock.stop()
            conn.send(None)
            return
        if command == "reset":
            mock.stats.reset()
            conn.send(None)
        elif command == "stats":
            conn.send(_request_stats(mock))
        elif command == "mutate":
            conn.send(_mutate(world, float(arg)))
        elif command == "counts":
            conn.send({c: world.count(c) for c in ("components", "workloads", "projects", "releasebindings")})


def _request_stats(mock: Any) -> dict[str, Any]:
    """Requests served since the last reset, and the fewest that could have listed the same data."""
    world = mock.world
    paths = Counter(r.path for r in mock.stats.records)
    minimum = 0
    for path in paths:
        parts = path.strip("/").split("/")  # api v1 namespaces NS coll | api v1 coll
        if parts[2:] == ["namespaces"]:
            n = len(world.namespaces())
        elif len(parts) == 5 and parts[2] == "namespaces":
            n = len(world.snapshot(parts[4], parts[3]).names)
        elif len(parts) == 3:
            n = len(world.snapshot(parts[2], "").names)
        else:
            n = 0  # a single-object GET: not a list, not counted in the minimum
        minimum += max(1, math.ceil(n / PAGE))
    return {"requests": mock.stats.total, "minimum": minimum, "paths": len(paths)}


def _mutate(world: Any, fraction: float) -> int:
    """Change the description of every 1/fraction-th component (a real upstream edit)."""
    changed = 0
    step = max(1, round(1 / fraction))
    index = 0
    stamp = str(time.time_ns())
    for ns in world.namespaces():
        for name in list(world.snapshot("components", ns).names):
            if index % step == 0:
                body = world.get("components", ns, name)
                body["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = f"edited {stamp}"
                world.put("components", ns, body)
                changed += 1
            index += 1
    return changed


class MockProcess:
    def __init__(self, spec: dict[str, int], latency_ms: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=mock_main, args=(child, spec, latency_ms), daemon=True)
        self.process.start()
        if not self.conn.poll(300):
            raise RuntimeError("the mock API process did not start within 300 s")
        self.url: str = self.conn.recv()

    def call(self, command: str, arg: Any = None) -> Any:
        self.conn.send((command, arg))
        return self.conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self.process.join(timeout=30)


# --- the official module's fetch pattern -------------------------------------------------------


async def baseline_walk(base_url: str) -> int:
    """Walk the API as OpenChoreoEntityProvider.runNew does; returns the number of requests."""
    import httpx

    requests = 0
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=60) as http:

        async def get(path: str, params: dict[str, str] | None = None) -> Any:
            nonlocal requests
            requests += 1
            resp = await http.get(path, params=params)
            return resp.json() if resp.status_code == 200 else None

        async def pages(path: str, extra: dict[str, str] | None = None, paged: bool = True) -> list[Any]:
            items: list[Any] = []
            cursor: str | None = None
            while True:
                params = dict(extra or {})
                if paged:
                    params["limit"] = str(PAGE)
                    if cursor:
                        params["cursor"] = cursor
                body = await get(path, params) or {}
                items.extend(body.get("items") or [])
                cursor = (body.get("pagination") or {}).get("nextCursor")
                if not cursor or not paged:
                    return items

        namespaces = [n["metadata"]["name"] for n in await pages("/namespaces")]
        for coll in ("environments", "observabilityalertsnotificationchannels", "dataplanes"):
            for ns in namespaces:
                await pages(f"/namespaces/{ns}/{coll}")
        for coll in ("workflowplanes", "observabilityplanes"):
            for ns in namespaces:
                await pages(f"/namespaces/{ns}/{coll}", paged=False)
        for ns in namespaces:
            projects = await pages(f"/namespaces/{ns}/projects")
            await pages(f"/namespaces/{ns}/deploymentpipelines", paged=False)
            for project in projects:
                components = await pages(f"/namespaces/{ns}/components", {"project": project["metadata"]["name"]})
                for comp in components:
                    await get(f"/namespaces/{ns}/workloads", {"component": comp["metadata"]["name"]})
        for ns in namespaces:
            types = await pages(f"/namespaces/{ns}/componenttypes")
            schemas = [f"/namespaces/{ns}/componenttypes/{t['metadata']['name']}/schema" for t in types]
            await asyncio.gather(*(get(path) for path in schemas))
        for coll in ("traits",):
            for ns in namespaces:
                await pages(f"/namespaces/{ns}/{coll}")
        for ns in namespaces:
            types = await pages(f"/namespaces/{ns}/resourcetypes")
            schemas = [f"/namespaces/{ns}/resourcetypes/{t['metadata']['name']}/schema" for t in types]
            await asyncio.gather(*(get(path) for path in schemas))
        for coll in ("projecttypes", "resources", "workflows"):
            for ns in namespaces:
                await pages(f"/namespaces/{ns}/{coll}")
        for coll in ("clustercomponenttypes", "clusterresourcetypes"):
            types = await pages(f"/{coll}")
            await asyncio.gather(*(get(f"/{coll}/{t['metadata']['name']}/schema") for t in types))
        for coll in ("clusterprojecttypes", "clustertraits", "clusterworkflows", "clusterdataplanes",
                     "clusterobservabilityplanes", "clusterworkflowplanes"):  # fmt: skip
            await pages(f"/{coll}")
    return requests


# --- one (size, latency) measurement, in a fresh process ---------------------------------------


def _time_emit(engine: Any) -> list[float]:
    """Wrap ``engine.outputs.emit`` to record how long the outputs took (the run summary does not say)."""
    seconds: list[float] = [0.0]
    original = engine.outputs.emit

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    engine.outputs.emit = timed
    return seconds


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def file_state(directory: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


async def measure(
    size: int, latency: int, baseline_max: int, store: str, dsn: str | None, files: bool
) -> dict[str, Any]:
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")
    spec = spec_args(size)
    mock = MockProcess(spec, latency)
    row: dict[str, Any] = {"size": size, "latency_ms": latency, **spec, **mock.call("counts")}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files_dir = Path(tmp) / "files"
            overrides: dict[str, Any] = {
                "openchoreo": {
                    "schedule": {"timeout": 1800},
                    "client": {"timeout": 120},
                    "plugins": {"files": {"enabled": files, "directory": str(files_dir)}},
                }
            }
            if store == "postgres":
                overrides["openchoreo"].update(store="postgres", postgres={"dsn": dsn})
            harness = SyncHarness(mock.url, Path(tmp), overrides)
            emit_seconds = _time_emit(harness.engine)
            try:
                mock.call("reset")
                started = time.perf_counter()
                # as the daemon runs: the result keeps the outcome, not the entities (the store has them)
                first = await harness.run(trigger="bench", keep_entities=False)
                row["full_s"] = time.perf_counter() - started
                row["emit_s"] = emit_seconds[-1]
                harness.results.clear()  # the harness keeps every result; a daemon keeps only the last
                assert first.status == "ok", first.summary
                stats = mock.call("stats")
                row.update(requests=stats["requests"], min_requests=stats["minimum"])
                seconds = first.summary["seconds"]
                row["entities"] = sum(int(n) for n in first.summary["counts"].values())
                row["map_relate_s"] = seconds["map"] + seconds["relate"]
                row["entities_per_s"] = row["entities"] / max(row["map_relate_s"], 1e-9)
                row["phases"] = seconds
                row["rss_mb"] = peak_rss_mb()

                files_before = file_state(files_dir)
                started = time.perf_counter()
                second = await harness.run(trigger="bench", keep_entities=False)
                row["nochange_s"] = time.perf_counter() - started
                harness.results.clear()
                row["nochange_changes"] = second.summary.get("changes")
                row["nochange_outputs"] = second.summary.get("outputs", {})
                row["nochange_files_touched"] = sum(
                    1 for path, mtime in file_state(files_dir).items() if files_before.get(path) != mtime
                )

                row["mutated"] = mock.call("mutate", 0.01)
                started = time.perf_counter()
                third = await harness.run(trigger="bench", keep_entities=False)
                row["onepct_s"] = time.perf_counter() - started
                row["onepct_emit_s"] = emit_seconds[-1]
                row["onepct_changes"] = third.summary.get("changes")
                row["rss_mb"] = peak_rss_mb()
            finally:
                await harness.close()
        if size <= baseline_max:
            mock.call("reset")
            started = time.perf_counter()
            row["baseline_requests"] = await baseline_walk(mock.url)
            row["baseline_s"] = time.perf_counter() - started
    finally:
        mock.stop()
    return row


# --- driver ----------------------------------------------------------------------------------


def fmt_row(r: dict[str, Any]) -> str:
    base = f"{r['baseline_s']:.1f} s ({r['baseline_requests']} req)" if "baseline_s" in r else "not run"
    ratio = f"{r['baseline_s'] / (r['full_s'] - r['emit_s']):.0f}x" if "baseline_s" in r else "-"
    nochange = "0 writes" if not any(r["nochange_changes"].values()) and not r["nochange_outputs"] and not r[
        "nochange_files_touched"] else f"WROTE {r['nochange_changes']} {r['nochange_outputs']}"  # fmt: skip
    return (
        f"| {r['size']:,} | {r['latency_ms']} | {r['entities']:,} | {r['full_s']:.2f} s "
        f"({r['full_s'] - r['emit_s']:.2f} + {r['emit_s']:.2f} files) | "
        f"{r['requests']} / {r['min_requests']} ({r['requests'] / r['min_requests']:.2f}x) | "
        f"{r['rss_mb']:.0f} MB | {r['entities_per_s']:,.0f} | {r['nochange_s']:.2f} s, {nochange} | "
        f"{r['onepct_s']:.2f} s ({r['onepct_changes'].get('changed', '?')} changed, {r['onepct_emit_s']:.2f} files) | "
        f"{base} | {ratio} |"
    )


HEADER = (
    "| components | latency ms | entities | full sync (sync + files output) | requests / minimum | peak RSS "
    "| map+relate ent/s | no-change run | 1% changed run | official-pattern baseline | speed-up |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--latency", default="0,20", help="ms added by the mock to every API request")
    parser.add_argument("--baseline-max", type=int, default=10_000, help="largest size to run the baseline for")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dsn", default=None, help="PostgreSQL DSN for --store postgres (use a scratch schema)")
    parser.add_argument("--outputs", choices=("files", "none"), default="files", help="enable the files output")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw rows here")
    parser.add_argument("--child", nargs=2, type=int, metavar=("SIZE", "LATENCY"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        files = args.outputs == "files"
        row = asyncio.run(measure(args.child[0], args.child[1], args.baseline_max, args.store, args.dsn, files))
        print("ROW " + json.dumps(row), flush=True)
        return 0

    rows: list[dict[str, Any]] = []
    print(f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, store {args.store}, outputs {args.outputs}")
    for size in (int(s) for s in args.sizes.split(",")):
        for latency in (int(x) for x in args.latency.split(",")):
            command = [sys.executable, __file__, "--child", str(size), str(latency),
                       "--baseline-max", str(args.baseline_max), "--store", args.store,
                       "--outputs", args.outputs]  # fmt: skip
            if args.dsn:
                command += ["--dsn", args.dsn]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            line = next((ln for ln in done.stdout.splitlines() if ln.startswith("ROW ")), None)
            if line is None:
                print(f"size {size} latency {latency}: failed", done.stdout[-3000:], done.stderr[-3000:], sep="\n")
                return 1
            rows.append(json.loads(line[4:]))
            print(f"# size {size:,} latency {latency} ms done in {time.perf_counter() - started:.0f} s: "
                  f"phases {rows[-1]['phases']}", flush=True)  # fmt: skip
    print()
    print(HEADER)
    for row in rows:
        print(fmt_row(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
