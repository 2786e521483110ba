"""The client's own connection pool (``openchoreo_sync.client.pool``) against a real TCP server.

The server is a few lines of asyncio so the tests can count connections and close idle ones,
which the mock API (uvicorn) does not let a test do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from client_helpers import Sleeps, make_config

from openchoreo_sync.client import OpenChoreoClient
from openchoreo_sync.client.pool import ConnectionPool

PAGE = b'{"items":[{"metadata":{"name":"a"}}],"pagination":{}}'
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(PAGE), PAGE)


@dataclass
class CountingServer:
    """Answers every GET with one list page; counts connections; may close after each response."""

    close_after_response: bool = False
    connections: int = 0
    requests: int = 0
    open_now: int = 0
    closed: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                if self.hold:
                    await self.release.wait()
                writer.write(RESPONSE)
                await writer.drain()
                if self.close_after_response:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()
            self.closed += 1


@asynccontextmanager
async def serving(server: CountingServer) -> AsyncIterator[CountingServer]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listener.close()


async def poll(condition: object, *, bound: float = 5.0) -> None:
    async with asyncio.timeout(bound):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)


def pool_of(client: OpenChoreoClient) -> ConnectionPool:
    return client._pool


async def test_sequential_requests_reuse_one_connection() -> None:
    async with serving(CountingServer()) as server, OpenChoreoClient(make_config(server.url)) as client:
        for _ in range(20):
            assert await client.list_all("/api/v1/namespaces", what="namespaces")
        assert pool_of(client).connections == 1
    assert server.requests == 20 and server.connections == 1


async def test_concurrent_requests_open_at_most_max_in_flight_connections() -> None:
    async with (
        serving(CountingServer(hold=True)) as server,
        OpenChoreoClient(make_config(server.url, max_in_flight=4)) as client,
    ):
        walks = [asyncio.ensure_future(client.list_all("/api/v1/namespaces", what="ns")) for _ in range(12)]
        await poll(lambda: server.requests == 4)
        assert server.connections == 4  # the other 8 wait for a slot, not for a new connection
        server.release.set()
        assert all(await asyncio.gather(*walks))
        assert pool_of(client).connections == 4
    assert server.requests == 12 and server.connections == 4


async def test_an_idle_connection_the_server_closed_is_not_reused(sleeps: Sleeps) -> None:
    """The keep-alive check: a request after the server closed the idle connection opens a new
    one instead of failing on the dead one (which would cost a retry, or an error with none)."""
    async with (
        serving(CountingServer(close_after_response=True)) as server,
        OpenChoreoClient(make_config(server.url, retries=0), sleep=sleeps) as client,
    ):
        assert await client.list_all("/api/v1/namespaces", what="namespaces")
        await poll(lambda: server.closed == 1)
        await poll(lambda: pool_of(client).connections == 0 or _idle_expired(client))
        assert await client.list_all("/api/v1/namespaces", what="namespaces")
    assert server.connections == 2 and client.stats.retries == 0 and sleeps.delays == []


def _idle_expired(client: OpenChoreoClient) -> bool:
    idle = pool_of(client)._idle
    return bool(idle) and not any(c.reusable for c in idle)


async def test_a_cancelled_request_frees_its_slot_and_closes_its_connection() -> None:
    async with (
        serving(CountingServer(hold=True)) as server,
        OpenChoreoClient(make_config(server.url, max_in_flight=1)) as client,
    ):
        walk = asyncio.ensure_future(client.list_all("/api/v1/namespaces", what="namespaces"))
        await poll(lambda: server.requests == 1)
        walk.cancel()
        await asyncio.gather(walk, return_exceptions=True)
        assert pool_of(client).connections == 0
        server.hold = False
        async with asyncio.timeout(5):  # the only slot is free again
            assert await client.list_all("/api/v1/namespaces", what="namespaces")
    assert server.connections == 2
