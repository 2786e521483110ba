"""The API client's own CPU per request, on its pool and on httpx's default one (httpcore's).

    python benchmarks/client_cpu.py [--components 2000] [--rounds 10] [--repeats 3]

The mock API serves from a spawned process of its own at 0 ms latency; the client walks four
small collections per namespace, all at once (16 in flight, the default ``maxInFlight``),
``--rounds`` times, and the figure is this process's CPU time (``time.process_time``) divided by
the requests it sent. ``httpcore pool`` swaps the client's transport for
``httpx.AsyncHTTPTransport`` with the same limits (what the client used before the fifth round).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from sync_bench import MockProcess, spec_args

COLLECTIONS = ("environments", "projects", "traits", "dataplanes")


async def measure(url: str, *, httpcore_pool: bool, rounds: int) -> tuple[float, int]:
    from openchoreo_sync.client import OpenChoreoClient
    from openchoreo_sync.config import OpenChoreoConfig
    from openchoreo_sync.logs import configure_logging

    configure_logging(level="warning")
    config = OpenChoreoConfig.model_validate({"base_url": url, "features": {"auth": {"enabled": False}}})
    async with OpenChoreoClient(config) as client:
        if httpcore_pool:  # the client's private httpx client: a benchmark-only swap
            limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
            client._http._transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        namespaces = [item["metadata"]["name"] for item in await client.list_all("/api/v1/namespaces", what="ns")]
        paths = [f"/api/v1/namespaces/{ns}/{c}" for ns in namespaces for c in COLLECTIONS]
        await asyncio.gather(*(client.list_all(p, what=p) for p in paths))  # connections opened
        sent = client.stats.requests
        cpu = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(client.list_all(p, what=p) for p in paths))
        return time.process_time() - cpu, client.stats.requests - sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mock = MockProcess(spec_args(args.components), 0)
    try:
        for _ in range(args.repeats):
            for httpcore_pool in (True, False):
                cpu, requests = asyncio.run(measure(mock.url, httpcore_pool=httpcore_pool, rounds=args.rounds))
                name = "httpcore pool" if httpcore_pool else "client pool  "
                print(f"{name}: {requests} requests, {cpu:.3f} s CPU, {cpu / requests * 1000:.3f} ms per request")
    finally:
        mock.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
