"""Event-to-catalog latency: how long after a world change the embedded catalog shows it.

Run on demand: ``python benchmarks/event_latency.py [--components 1000] [--events 30]``. The mock
API posts the forwarder's event to the daemon's endpoint on every change; the script changes one
component at a time (create, update, delete in turn) and polls the daemon's catalog API until the
change is visible, then prints percentiles. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from openchoreo_sync.events import EVENTS_PATH
from openchoreo_sync.logs import configure_logging
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing import SyncHarness


async def visible(http: httpx.AsyncClient, url: str, name: str, title: str | None) -> float:
    """Poll until component ``name`` has ``title`` (None: until it is gone); bounded at 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = await http.get(f"{url}/api/catalog/entities/by-name/component/default/{name}")
        if title is None and response.status_code == 404:
            return time.monotonic()
        if title is not None and response.status_code == 200 and response.json()["metadata"].get("title") == title:
            return time.monotonic()
        await asyncio.sleep(0.005)
    raise TimeoutError(f"component {name} never reached title {title!r}")


async def measure(components: int, events: int) -> list[float]:
    projects = max(1, components // 20)
    spec = WorldSpec(namespaces=1, projects=projects, components=max(1, components // projects))
    with MockOpenChoreo(spec) as mock, tempfile.TemporaryDirectory() as state:
        harness = SyncHarness(mock.url, Path(state))
        await harness.run()
        url = await harness.serve()
        mock.add_webhook(url + EVENTS_PATH)
        template = copy.deepcopy(mock.world.get("components", "default", "api-service"))
        latencies: list[float] = []
        async with httpx.AsyncClient() as http:
            for i in range(events):
                name = f"latency-{i // 3}"
                body = copy.deepcopy(template)
                body["metadata"]["name"] = name
                title = f"Version {i}"
                body["metadata"].setdefault("annotations", {})["openchoreo.dev/display-name"] = title
                started = time.monotonic()
                if i % 3 == 2:
                    mock.world.delete("components", "default", name)
                    seen = await visible(http, url, name, None)
                else:
                    mock.world.put("components", "default", body)
                    seen = await visible(http, url, name, title)
                latencies.append(seen - started)
        await harness.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    configure_logging("json", "error")
    latencies = sorted(asyncio.run(measure(args.components, args.events)))
    ms = [round(x * 1000) for x in latencies]
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print("| components | events | median | p95 | max |\n|---:|---:|---:|---:|---:|")
    print(f"| {args.components:,} | {len(ms)} | {statistics.median(ms):.0f} ms | {p95} ms | {ms[-1]} ms |")


if __name__ == "__main__":
    main()
