"""map+relate throughput on its own: replay one sync's collections through the engine's mapper and relate.

    python benchmarks/map_relate_replay.py [--components 10000] [--repeats 7]

``sync_bench.py`` reports map+relate entities/s from a real run, where mapping interleaves with
fetching while the mock API (its own process, on the same cores) is still serving pages; on a
2-core machine that figure moves with whatever else the cores do. This captures every collection
of one real sync, then replays map+relate ``--repeats`` times with nothing else running and the
cyclic GC off (as the engine runs), and prints each replay plus the best and the median.
Not part of pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_bench import MockProcess, spec_args


async def replay(components: int, repeats: int) -> list[float]:
    from openchoreo_sync import build as build_module
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.relate import relate_entities
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")
    captured: list[tuple[Any, Any]] = []
    original = build_module.Mapper.map_collection

    def capture(self: Any, key: Any, collection: Any, build: Any) -> None:
        captured.append((key, collection))
        original(self, key, collection, build)

    mock = MockProcess(spec_args(components), 0)
    rates: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            harness = SyncHarness(mock.url, Path(tmp), {"openchoreo": {"schedule": {"timeout": 1800}}})
            build_module.Mapper.map_collection = capture  # type: ignore[method-assign]
            try:
                result = await harness.run(trigger="replay")
            finally:
                build_module.Mapper.map_collection = original  # type: ignore[method-assign]
            assert result.status == "ok", result.summary
            ctx = harness.engine.context("replay")
            gc.disable()
            try:
                for number in range(1, repeats + 1):
                    build = build_module.Build()
                    mapper = build_module.Mapper(harness.engine.plugins, ctx)
                    started = time.perf_counter()
                    for key, collection in captured:
                        mapper.map_collection(key, collection, build)
                    mapped = time.perf_counter()
                    relate_entities(build.entities, harness.engine.plugins, ctx)
                    done = time.perf_counter()
                    rate = len(build.entities) / (done - started)
                    rates.append(rate)
                    print(
                        f"replay {number}: {len(build.entities):,} entities, map {mapped - started:.3f} s, "
                        f"relate {done - mapped:.3f} s, {rate:,.0f} entities/s",
                        flush=True,
                    )
                    del build, mapper
            finally:
                gc.enable()
            await harness.close()
    finally:
        mock.stop()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rates = asyncio.run(replay(args.components, args.repeats))
    print(f"best {max(rates):,.0f} entities/s, median {statistics.median(rates):,.0f} entities/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
