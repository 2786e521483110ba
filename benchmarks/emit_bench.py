"""CPU of the ``backstage`` output's emit at 10k components (issue 19: under 1.5 s).

    python benchmarks/emit_bench.py [--components 10000] [--emits 3] [--pyyaml]

The mock API runs in a spawned process of its own (as in ``sync_bench.py``); one sync (0 ms
latency) fills the store with the output enabled and ``registerLocation: false``, so the emit
renders the publication and serves it (registering and verifying are Backstage's time). Then the
output's ``emit`` is called again ``--emits`` times on the committed snapshot, each time twice:
"first" with the output's rendered files and last build forgotten (a daemon's first emit: every
file rendered) and "again" right after it (a run that changed nothing: the last build reused). Each emit's process
CPU (``time.process_time``: all threads, the emit renders in a worker thread) is printed next to
the anchor. ``--pyyaml`` renders through PyYAML alone (the bytes before ``kit/yaml_emit.py``), to
compare on the same machine. CPU, not wall time: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_bench import MockProcess, spec_args

TARGET_S = 1.5


async def measure(
    components: int, emits: int, pyyaml: bool, profile: str | None = None
) -> list[tuple[str, float, float, int]]:
    from openchoreo_sync.kit import publishing
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.plugins.backstage.layout import RenderedFiles
    from openchoreo_sync.snapshot import ChangeSet
    from openchoreo_sync.store_snapshot import StoreSnapshot
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")
    if pyyaml:

        def only_pyyaml(documents: Any, **kwargs: Any) -> str:
            return publishing.pyyaml_dump(list(documents))

        publishing.dump_json_documents = only_pyyaml  # type: ignore[assignment]
    mock = MockProcess(spec_args(components), 0)
    rows: list[tuple[str, float, float, int]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            overrides = {
                "openchoreo": {
                    "schedule": {"timeout": 1800},
                    "client": {"timeout": 120},
                    "plugins": {
                        "backstage": {
                            "enabled": True,
                            "baseUrl": "http://127.0.0.1:9",
                            "token": "bench-token-0123",
                            "publishUrl": "http://127.0.0.1:9",
                            "registerLocation": False,
                        }
                    },
                }
            }
            harness = SyncHarness(mock.url, Path(tmp), overrides)
            try:
                first = await harness.run(trigger="bench")
                assert first.summary["outputs"].get("backstage") in ("ok", "full"), first.summary["outputs"]
                sink = harness.daemon.ctx.services.instances["backstage"]
                ctx = harness.daemon.ctx
                for emit in [kind for _ in range(emits) for kind in ("first", "again")]:
                    view = StoreSnapshot(harness.store, first.run_id)  # what a run hands the output
                    if emit == "first":
                        sink.rendered = RenderedFiles()
                        sink.last_build = None  # and the last build of an unchanged snapshot
                    cpu, wall = time.process_time(), time.perf_counter()
                    if profile and emit == "first":
                        import cProfile

                        with cProfile.Profile() as prof:
                            publication = sink.build([b for _, b in view.entities()], sink.publish_root())
                        prof.dump_stats(profile)
                        del publication
                        sink.rendered = RenderedFiles()
                    await sink.emit(view, ChangeSet(full=True), ctx)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    size = sum(len(b) for b in sink.served.files.values())
                    rows.append((emit, cpu, wall, size))
            finally:
                await harness.close()
    finally:
        mock.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--emits", type=int, default=3)
    parser.add_argument("--pyyaml", action="store_true", help="render through PyYAML only (the old path)")
    parser.add_argument("--profile", help="also write a cProfile of one build (the rendering) to this file")
    args = parser.parse_args()
    rows = asyncio.run(measure(args.components, args.emits, args.pyyaml, args.profile))
    load = os.getloadavg()[0]
    for emit, cpu, wall, size in rows:
        print(
            f"{emit} emit at {args.components} components{' (PyYAML only)' if args.pyyaml else ''}: "
            f"{cpu:.2f} s CPU (target under {TARGET_S} s), {wall:.2f} s wall at load {load:.1f}, "
            f"{size / 1e6:.1f} MB published"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
