"""The state store alone: file size, first-commit CPU and read-query CPU at a generated size.

    python benchmarks/store_bench.py --components 10000 [--latency 20] [--keep DIR] [--reuse FILE]

1. A first sync (``once``, empty SQLite store, no output) of the mock's generated world (the mock
   in a spawned process of its own, as in ``sync_bench.py``): its phase split (run summary
   ``seconds``) and the state file's size after a WAL checkpoint, split per table and index
   (``dbstat``).
2. The first commit replayed on its own: every stored entity is serialised again
   (``serialization.iter_writes`` in ref order, as the engine does) and committed into a fresh store, CPU time
   (``time.process_time``, all threads) and wall time, best of three; then the same commit with
   its search rows staged first (``store.staging``, as a first sync stages them while fetching):
   the staging's CPU in this process and in the worker, and the commit's CPU, best of three each.
3. The read API's store queries on that file, and the embedded catalog's handlers above them
   (``API ...``), in-process, CPU time per call (mean of ``--calls``).

``--reuse FILE`` skips step 1 and measures steps 2-3 on an existing state file (to compare two
branches on the same data: a step-3 file is migrated first, in a copy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from sync_bench import MockProcess, spec_args


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def file_split(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        search_rows = conn.execute("SELECT COUNT(*) FROM search").fetchone()[0]
    finally:
        conn.close()
    return {
        "file_mb": path.stat().st_size / 1e6,
        "search_rows": search_rows,
        "objects_mb": {name: round(size / 1e6, 2) for name, size in rows},
    }


async def first_sync(size: int, latency: int, state_dir: Path) -> dict[str, Any]:
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")
    mock = MockProcess(spec_args(size), latency)
    try:
        overrides = {
            "openchoreo": {
                "schedule": {"timeout": 1800},
                "client": {"timeout": 120},
                "plugins": {"files": {"enabled": False}},
            }
        }
        harness = SyncHarness(mock.url, state_dir, overrides)
        try:
            worker = _children_cpu()
            cpu, wall = time.process_time(), time.perf_counter()
            result = await harness.run(trigger="bench")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert result.status == "ok", result.summary
            return {
                "entities": len(result.entities),
                "once_s": wall,
                "once_cpu_s": cpu,
                # the staging worker (store.staging), reaped by the run; the mock is still running
                "stage_worker_cpu_s": _children_cpu() - worker,
                "stage_worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                **result.summary["seconds"],
            }
        finally:
            await harness.close()
    finally:
        mock.stop()


def engine_writes(entities: dict[Any, Any], index: dict[Any, Any]) -> Any:
    """The writes of a first commit of ``entities`` as the engine makes them: in ref order, each
    with the origin ``index`` (the source store's) records."""
    from openchoreo_sync.serialization import iter_writes
    from openchoreo_sync.snapshot import ChangeSet

    def origin_of(ref: Any) -> tuple[str, str, str]:
        return index[ref].collection, index[ref].family, index[ref].source

    return iter_writes(entities, {}, origin_of, ChangeSet(), in_ref_order=True)


def replay_commit(path: Path, repeats: int = 3) -> dict[str, Any]:
    """CPU of a first commit of the same entities into an empty store (best of ``repeats``)."""
    from openchoreo_sync.store.base import Commit, RunRecord
    from openchoreo_sync.store.sqlite import SqliteStore

    source = SqliteStore(path)
    source.migrate()
    index = source.load_index()
    entities = dict(source.all_bodies())
    source.close()
    best = best_wall = float("inf")
    for n in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(Path(tmp) / "replay.sqlite3")
            store.migrate()
            writes = engine_writes(entities, index)
            started, wall = time.process_time(), time.perf_counter()
            run = RunRecord(f"replay-{n}", "2026-01-01T00:00:00Z")
            store.commit(Commit(run=run, writes=writes, in_ref_order=True))
            best = min(best, time.process_time() - started)
            best_wall = min(best_wall, time.perf_counter() - wall)
            store.close()
    return {"replay_commit_cpu_s": best, "replay_commit_wall_s": best_wall, "replay_entities": len(entities)}


async def _stage_all(stage: Any, items: list[Any], batch: int) -> Any:
    await stage.start()
    for start in range(0, len(items), batch):
        await stage.add(items[start : start + batch])
    return await stage.finish()


def replay_staged(path: Path, repeats: int = 3, batch: int = 40) -> dict[str, Any]:
    """The same first commit with its search rows staged first (``store.staging``), as a first
    sync stages them while fetching: ``batch`` entities at a time (a collection at 10k components
    maps ~38), the worker's CPU apart (its own process). Best of ``repeats`` each."""
    from openchoreo_sync.store.base import Commit, RunRecord
    from openchoreo_sync.store.sqlite import SqliteStore

    source = SqliteStore(path)
    source.migrate()
    index = source.load_index()
    entities = dict(source.all_bodies())
    source.close()
    items = list(entities.items())
    best: dict[str, float] = {}

    for n in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(Path(tmp) / "replay.sqlite3")
            store.migrate()
            stage = store.first_commit_stage()
            assert stage is not None

            cpu, worker = time.process_time(), _children_cpu()
            staged = asyncio.run(_stage_all(stage, items, batch))
            figures = {"staging_cpu_s": time.process_time() - cpu}
            assert staged is not None, "the stage failed"
            writes = engine_writes(entities, index)
            cpu, wall = time.process_time(), time.perf_counter()
            run = RunRecord(f"staged-{n}", "2026-01-01T00:00:00Z")
            commit = Commit(run=run, writes=writes, staged=staged, in_ref_order=True)
            store.commit(commit)
            figures["staged_commit_cpu_s"] = time.process_time() - cpu
            figures["staged_commit_wall_s"] = time.perf_counter() - wall
            asyncio.run(stage.discard())
            # the worker goes on with its presorted copy during the commit: reaped by the discard
            figures["staging_worker_cpu_s"] = _children_cpu() - worker
            figures["presorted_used"] = float(staged.presorted_taken)
            store.close()
            for name, value in figures.items():
                best[name] = min(best.get(name, float("inf")), value)
    return best


def query_cpu(path: Path, calls: int) -> dict[str, float]:
    """Mean CPU milliseconds per call of the read API's store functions."""
    from openchoreo_sync.store.sqlite import SqliteStore

    store = SqliteStore(path)
    store.migrate()
    system = store._query("SELECT name FROM entities WHERE kind = 'system' ORDER BY ref LIMIT 1")[0][0]
    component = store._query("SELECT namespace, name FROM entities WHERE kind = 'component' ORDER BY ref LIMIT 1")[0]
    refs = [r[0] for r in store._query("SELECT ref FROM entities WHERE kind = 'component' ORDER BY ref LIMIT 100")]
    cases: dict[str, Any] = {
        "match kind=component": lambda: store.match_refs([[("kind", ["component"])]]),
        "match kind=component,spec.system=X": lambda: store.match_refs(
            [[("kind", ["component"]), ("spec.system", [system.lower()])]]
        ),
        "match kind=api OR kind=system": lambda: store.match_refs([[("kind", ["api"])], [("kind", ["system"])]]),
        "match exists metadata.annotations.x": lambda: store.match_refs(
            [[("metadata.annotations.backstage.io/source-location", None)]]
        ),
        "order values metadata.name of kind=component": lambda: store.search_values(
            ["metadata.name"], [[("kind", ["component"])]]
        ),
        "full text values (3 keys, all)": lambda: store.search_values(
            ["metadata.name", "metadata.title", "metadata.description"]
        ),
        "facet kind": lambda: store.facet_counts(["kind"]),
        "facet spec.type of kind=component": lambda: store.facet_counts(["spec.type"], [[("kind", ["component"])]]),
        "by-name": lambda: store.find_by_name("component", component[0], component[1]),
        "load_served 100": lambda: store.load_served(refs),
        "load_bodies 100": lambda: store.load_bodies(refs),
    }
    from openchoreo_sync.plugins.embedded_catalog.facets import entity_facets
    from openchoreo_sync.plugins.embedded_catalog.listing import ListQuery, list_entities
    from openchoreo_sync.plugins.embedded_catalog.lookup import by_name
    from openchoreo_sync.plugins.embedded_catalog.params import Page

    def listing(alternatives: Any) -> Any:
        return lambda: list_entities(store, ListQuery(alternatives, None, None, Page(limit=100)))

    cases.update(
        {
            "API /entities?filter=kind=component&limit=100": listing([[("kind", ["component"])]]),
            "API /entities?filter=kind=component,spec.system=X": listing(
                [[("kind", ["component"]), ("spec.system", [system.lower()])]]
            ),
            "API /entity-facets?facet=kind": lambda: entity_facets(store, ["kind"], None),
            "API by-name": lambda: by_name(store, "component", component[0], component[1]),
        }
    )
    out: dict[str, float] = {}
    for name, call in cases.items():
        call()
        started = time.process_time()
        for _ in range(calls):
            call()
        out[name] = (time.process_time() - started) / calls * 1000
    store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="keep the state directory here")
    parser.add_argument("--reuse", type=Path, default=None, help="measure an existing state file (a copy of it)")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--skip-replay", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = args.keep or Path(tmp)
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "state.sqlite3"
        if args.reuse:
            shutil.copy(args.reuse, path)
            from openchoreo_sync.store.sqlite import SqliteStore

            started = time.process_time()
            store = SqliteStore(path)
            store.migrate()
            store.close()
            report["migrate_cpu_s"] = time.process_time() - started
        else:
            report.update(asyncio.run(first_sync(args.components, args.latency, state_dir)))
        report.update(file_split(path))
        if not args.skip_replay:
            report.update(replay_commit(path))
            report.update(replay_staged(path))
        report["query_cpu_ms"] = query_cpu(path, args.calls)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
