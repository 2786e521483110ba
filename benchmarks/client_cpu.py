"""The API client's own CPU per request, on its own connections and through httpx (httpcore's pool).

    python benchmarks/client_cpu.py [--components 2000] [--rounds 10] [--repeats 3]

The mock API serves from a spawned process of its own at 0 ms latency; the client walks four
small collections per namespace, all at once (16 in flight, the default ``maxInFlight``),
``--rounds`` times, and the figure is this process's CPU time (``time.process_time``) divided by
the requests it sent. ``httpx`` gives the client's requester an ``HttpxSender`` over an
``httpx.AsyncClient`` with ``httpx.AsyncHTTPTransport`` and the same limits (the stack the client
sent through before the eighth round, less the fifth round's own pool under httpx).
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


async def measure(url: str, *, through_httpx: bool, rounds: int) -> tuple[float, int]:
    from openchoreo_sync.client import OpenChoreoClient
    from openchoreo_sync.client.httpx_sender import HttpxSender
    from openchoreo_sync.config import OpenChoreoConfig
    from openchoreo_sync.logs import configure_logging

    configure_logging(level="warning")
    config = OpenChoreoConfig.model_validate({"base_url": url, "features": {"auth": {"enabled": False}}})
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with (
        OpenChoreoClient(config) as client,
        httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(limits=limits, trust_env=False), trust_env=False) as http,
    ):
        if through_httpx:  # the client's private requester: a benchmark-only swap
            client._requester._sender = HttpxSender(http, url)
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
            for through_httpx in (True, False):
                cpu, requests = asyncio.run(measure(mock.url, through_httpx=through_httpx, rounds=args.rounds))
                name = "httpx          " if through_httpx else "own connections"
                print(f"{name}: {requests} requests, {cpu:.3f} s CPU, {cpu / requests * 1000:.3f} ms per request")
    finally:
        mock.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
