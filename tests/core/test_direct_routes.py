"""Bodiless GETs to replica-safe routes skip the middleware stack, and answer the same bytes.

Each request is sent twice over a real connection to the daemon's HTTP server: as a plain GET (the
direct path) and as a GET with an empty chunked body (a request with a body always takes the
ordinary path through every middleware), and the two raw responses are compared.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from openchoreo_sync.errors import StoreError
from openchoreo_sync.server import HttpServer, build_app, public, replica_safe

TOKEN = "direct-routes-token"


async def _ok(request: Request) -> Response:
    return JSONResponse({"name": request.path_params["name"], "query": str(request.query_params)})


async def _teapot(_: Request) -> Response:
    raise HTTPException(418, "short and stout", headers={"x-why": "tea"})


async def _not_modified(_: Request) -> Response:
    raise HTTPException(304)


async def _broken(_: Request) -> Response:
    raise RuntimeError("secret text that must not reach the client")


async def _lost_store(_: Request) -> Response:
    raise StoreError("database is locked")


async def _which_path(request: Request) -> Response:
    """Starlette's exception middleware marks the scope; the direct path never passes it."""
    return PlainTextResponse("ordinary" if "starlette.exception_handlers" in request.scope else "direct")


async def _earlier(_: Request) -> Response:
    return PlainTextResponse("the earlier, ordinary route")


def _routes() -> list[Route]:
    earlier = Route("/things/first", _earlier, methods=["GET"])
    return [
        earlier,  # listed first and not replica-safe: it must keep answering its path
        replica_safe(Route("/things/{name}", _ok, methods=["GET"])),
        replica_safe(Route("/teapot", _teapot, methods=["GET"])),
        replica_safe(Route("/not-modified", _not_modified, methods=["GET"])),
        replica_safe(Route("/broken", _broken, methods=["GET"])),
        replica_safe(Route("/store", _lost_store, methods=["GET"])),
        replica_safe(Route("/which", _which_path, methods=["GET"])),
        public(replica_safe(Route("/public-which", _which_path, methods=["GET"]))),
        Route("/ordinary-which", _which_path, methods=["GET"]),
    ]


@pytest.fixture
async def url() -> AsyncIterator[tuple[str, int]]:
    app = build_app([("test", _routes())], token=lambda: TOKEN, ready=lambda: True)
    server = HttpServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        await server.stop()


async def _exchange(
    where: tuple[str, int], path: str, *, token: str | None = TOKEN, body: bool = False, sized: bytes | None = None
) -> bytes:
    """The raw response, its ``date`` header dropped (it may tick between the two requests).
    ``body``: an empty chunked body; ``sized``: this body with its content-length."""
    reader, writer = await asyncio.open_connection(*where)
    lines = [f"GET {path} HTTP/1.1", "host: test", "connection: close"]
    if token is not None:
        lines.append(f"authorization: Bearer {token}")
    if body:
        lines.append("transfer-encoding: chunked")
    if sized is not None:
        lines.append(f"content-length: {len(sized)}")
    payload = b"0\r\n\r\n" if body else sized or b""
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(kept) + b"\r\n\r\n" + rest


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/things/a%20b?x=1&y=2", TOKEN, 200),
        ("/things/a", None, 401),
        ("/things/a", "wrong", 401),
        ("/teapot", TOKEN, 418),
        ("/not-modified", TOKEN, 304),
        ("/broken", TOKEN, 500),
        ("/store", TOKEN, 503),
        ("/nowhere", TOKEN, 404),
    ],
)
async def test_the_direct_path_answers_the_ordinary_paths_bytes(
    url: tuple[str, int], path: str, token: str | None, status: int
) -> None:
    direct = await _exchange(url, path, token=token)
    ordinary = await _exchange(url, path, token=token, body=True)
    assert direct.startswith(f"HTTP/1.1 {status} ".encode())
    assert direct == ordinary
    assert b"secret text" not in direct


async def test_bodiless_gets_to_replica_safe_routes_take_the_direct_path(url: tuple[str, int]) -> None:
    assert (await _exchange(url, "/which")).endswith(b"direct")
    assert (await _exchange(url, "/which", body=True)).endswith(b"ordinary")
    assert (await _exchange(url, "/which", sized=b"hello")).endswith(b"ordinary")
    assert (await _exchange(url, "/which", sized=b"")).endswith(b"direct")
    assert (await _exchange(url, "/public-which", token=None)).endswith(b"direct")
    assert (await _exchange(url, "/which", token=None)).startswith(b"HTTP/1.1 401 ")
    assert (await _exchange(url, "/ordinary-which")).endswith(b"ordinary")  # not replica-safe


async def test_a_route_listed_earlier_keeps_its_path(url: tuple[str, int]) -> None:
    assert (await _exchange(url, "/things/first")).endswith(b"the earlier, ordinary route")
    assert b'"name":"second"' in await _exchange(url, "/things/second")
