"""The API client's own HTTP/1.1 connection (``client.http11``, ``client.pool``) against scripted servers.

A real TCP server on 127.0.0.1 answers each request with the next response of its script, as raw
bytes: what uvicorn never sends (a body read until close, gzip the client did not ask for, a
broken status line, a body cut short, a byte after the response) is what these tests need.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from client_helpers import Sleeps, make_config

from openchoreo_sync.client import ApiError, OpenChoreoClient, ResponseTooLargeError
from openchoreo_sync.client.pool import ConnectionPool, UnsafeHeader

PAGE = {"items": [{"metadata": {"name": "a"}}], "pagination": {}}
BODY = json.dumps(PAGE).encode()


def sized(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in ("content-type: application/json", *headers))
    return b"HTTP/1.1 200 OK\r\n%scontent-length: %d\r\n\r\n%s" % (head.encode(), len(body), body)


OK = sized(BODY)


@dataclass
class ScriptedServer:
    """Sends ``script[i]`` for the i-th request it reads (then ``OK``); ``close_after`` holds the
    request numbers after whose response it closes the connection. Records each request's head."""

    script: list[bytes] = field(default_factory=list)
    close_after: set[int] = field(default_factory=set)
    heads: list[bytes] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                number = len(self.heads)
                self.heads.append(head)
                writer.write(self.script[number] if number < len(self.script) else OK)
                await writer.drain()
                if number in self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(server: ScriptedServer) -> AsyncIterator[ScriptedServer]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        listener.close()


async def list_once(server: ScriptedServer, sleeps: Sleeps | None = None, **settings: object) -> object:
    config = make_config(server.url, **settings)
    async with OpenChoreoClient(config, sleep=sleeps or Sleeps()) as client:
        return await client.list_all("/api/v1/namespaces", what="namespaces")


async def test_the_request_is_encoded_as_sent_by_a_browser() -> None:
    """Path and query percent-encoded (a cursor's ``+``, ``/``, ``=`` and a space survive), the
    Host header with its port, JSON asked for, no compression asked for."""
    async with serving(ScriptedServer()) as server, OpenChoreoClient(make_config(server.url + "/prefix")) as client:
        await client.get_page("/api/v1/namespaces/a b", {"limit": "100", "cursor": "x+y/z= w"}, what="ns")
    line, *headers = server.heads[0].decode().split("\r\n")
    assert line == "GET /prefix/api/v1/namespaces/a%20b?limit=100&cursor=x%2By%2Fz%3D%20w HTTP/1.1"
    port = server.url.rsplit(":", 1)[1]
    assert f"Host: 127.0.0.1:{port}" in headers and "Accept: application/json" in headers
    assert not any(h.lower().startswith("accept-encoding") for h in headers)


async def test_a_body_without_a_length_ends_with_the_connection() -> None:
    until_close = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" + BODY
    server = ScriptedServer([until_close], close_after={0})
    async with serving(server), OpenChoreoClient(make_config(server.url)) as client:
        assert await client.list_all("/api/v1/namespaces", what="ns") == PAGE["items"]
        assert await client.list_all("/api/v1/namespaces", what="ns") == PAGE["items"]
    assert client.stats.retries == 0  # the first answer was whole
    assert server.connections == 2  # a closed connection is not reused


async def test_a_gzip_body_is_decoded_and_bounded_by_its_decoded_size() -> None:
    packed = sized(gzip.compress(BODY), "content-encoding: gzip")
    async with serving(ScriptedServer([packed])) as server:
        assert await list_once(server) == PAGE["items"]
    bomb = gzip.compress(b'{"items": ["' + b"x" * 5_000_000 + b'"]}')  # ~5 kB on the wire
    async with serving(ScriptedServer([sized(bomb, "content-encoding: gzip")])) as server:
        with pytest.raises(ResponseTooLargeError, match="reading stopped after") as caught:
            await list_once(server, max_response_bytes=100_000)
    decoded = int(str(caught.value).rsplit("after ", 1)[1].split()[0])
    assert decoded <= 100_002  # inflated no further than the bound, not to 5 MB


async def test_an_encoding_not_asked_for_is_named() -> None:
    async with serving(ScriptedServer([sized(b"\x00\x01", "content-encoding: br")] * 3)) as server:
        with pytest.raises(ApiError, match="encoded as 'br', which was not asked for"):
            await list_once(server, retries=2)


async def test_a_broken_response_is_retried_on_a_new_connection(sleeps: Sleeps) -> None:
    async with serving(ScriptedServer([b"HTTX/9 what\r\n\r\n"])) as server:
        assert await list_once(server, sleeps) == PAGE["items"]
    assert len(sleeps.delays) == 1 and server.connections == 2


async def test_a_broken_response_every_time_is_reported(sleeps: Sleeps) -> None:
    async with serving(ScriptedServer([b"HTTX/9 what\r\n\r\n"] * 3)) as server:
        with pytest.raises(ApiError, match=r"connection failed \(MalformedHttp: malformed HTTP response") as caught:
            await list_once(server, sleeps, retries=2)
    assert str(caught.value).endswith("after 3 attempts")


async def test_a_body_cut_short_is_retried(sleeps: Sleeps) -> None:
    cut = sized(BODY)[:-10]
    async with serving(ScriptedServer([cut], close_after={0})) as server:
        assert await list_once(server, sleeps) == PAGE["items"]
    assert len(sleeps.delays) == 1 and server.connections == 2


async def test_bytes_after_a_response_retire_the_connection(sleeps: Sleeps) -> None:
    """A second response to one request (or any late byte) could be taken for the next
    request's answer: the connection is dropped, the next request opens another, no retry."""
    doubled = OK + OK
    server = ScriptedServer([doubled])
    async with serving(server), OpenChoreoClient(make_config(server.url), sleep=sleeps) as client:
        assert await client.list_all("/api/v1/namespaces", what="ns") == PAGE["items"]
        assert await client.list_all("/api/v1/namespaces", what="ns") == PAGE["items"]
    assert server.connections == 2 and sleeps.delays == []


async def test_an_idle_connection_past_its_expiry_is_not_reused() -> None:
    async with serving(ScriptedServer()) as server:
        pool = ConnectionPool(server.url, ssl_context=lambda: pytest.fail("no TLS here"), keepalive_expiry=0.0)
        for _ in range(2):
            response = await pool.get("/api/v1/namespaces", None, [], max_bytes=10_000)
            assert response.status == 200 and response.body == BODY
        pool.close()
    assert server.connections == 2


async def test_a_header_that_would_break_the_request_is_never_sent() -> None:
    async with serving(ScriptedServer()) as server:
        pool = ConnectionPool(server.url, ssl_context=lambda: pytest.fail("no TLS here"))
        with pytest.raises(UnsafeHeader, match="Authorization"):
            await pool.get("/api/v1/namespaces", None, [("Authorization", "Bearer a\r\nX-Evil: 1")], max_bytes=10_000)
        pool.close()
    assert server.heads == [] and server.connections == 0
