"""Web UI benchmark: the pages' response times on a catalog of 10,000 components (target < 200 ms).

    python benchmarks/web_ui.py [--components 10000] [--requests 20]

Syncs a generated world from the mock OpenChoreo API into a fresh SQLite store once, then serves
the daemon (its own event loop, in a background thread, as in ``run``) and times each page from a
plain HTTP client: the catalog unfiltered, filtered by kind, by kind and namespace, a text search,
a page deep in the list, an entity with its graph at depth 1 and 2 (a component, and a system with
many relations), and the sync page. Prints a Markdown table of median and p95 per page.

Not part of pytest: the first sync takes a while, and speed is not asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from openchoreo_sync.logs import configure_logging
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.plugins.web_ui.links import entity_url
from openchoreo_sync.testing.harness import SyncHarness

TOKEN = "benchmark-token"
TARGET_MS = 200


def spec_for(components: int) -> WorldSpec:
    per_project, projects = 20, 25
    return WorldSpec(
        seed=7,
        namespaces=max(1, components // (per_project * projects)),
        projects=projects,
        components=per_project,
        example=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    configure_logging("console", "warning")

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def call(coro, timeout=1800):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    with MockOpenChoreo(spec_for(args.components)) as mock, tempfile.TemporaryDirectory() as state:
        overrides = {
            "openchoreo": {"server": {"token": TOKEN}, "schedule": {"timeout": 1800}, "client": {"timeout": 60}}
        }

        async def start():
            harness = SyncHarness(mock.url, Path(state), overrides)
            t0 = time.perf_counter()
            result = await harness.run()
            print(f"first sync: {result.status}, {time.perf_counter() - t0:.1f} s")
            return harness, await harness.serve()

        harness, url = call(start())
        time.sleep(3)  # let the pages warm their unfiltered catalog answer, as after any commit
        index = harness.store.load_index()
        kinds: dict[str, int] = {}
        for ref in index:
            kinds[ref.split(":")[0]] = kinds.get(ref.split(":")[0], 0) + 1
        print(f"catalog: {len(index)} entities ({kinds.get('component', 0)} components)")
        component = next(ref for ref in sorted(index) if ref.startswith("component:"))
        system = next(ref for ref in sorted(index) if ref.startswith("system:"))
        namespace = component.split(":")[1].split("/")[0]
        pages = {
            "catalog (all)": "/ui",
            "catalog kind=component": "/ui?kind=component",
            "catalog kind+namespace": f"/ui?kind=component&metadata.namespace={namespace}",
            "catalog search q=web": "/ui?q=web",
            "catalog page 50": "/ui?kind=component&page=50",
            "component, depth 1": entity_url("/ui", component),
            "component, depth 2": entity_url("/ui", component) + "?depth=2",
            "system, depth 2": entity_url("/ui", system) + "?depth=2",
            "sync health": "/ui/sync",
        }
        rows = []
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            for name, path in pages.items():
                t0 = time.perf_counter()
                response = client.get(path)  # the first answer: computes what the page caches per snapshot
                cold = (time.perf_counter() - t0) * 1000
                assert response.status_code == 200, (path, response.status_code)
                times = []
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                rows.append((name, cold, statistics.median(times), p95, len(response.content)))
        call(harness.close())
    loop.call_soon_threadsafe(loop.stop)

    print(f"\n| page | first ms | median ms | p95 ms | bytes | p95 < {TARGET_MS} ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, cold, median, p95, size in rows:
        print(f"| {name} | {cold:.0f} | {median:.1f} | {p95:.1f} | {size} | {'yes' if p95 < TARGET_MS else 'NO'} |")


if __name__ == "__main__":
    main()
