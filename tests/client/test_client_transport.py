"""What the mock API cannot send: endless chunked bodies, HTTP-date Retry-After, and TLS."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

import pytest
from client_helpers import FakeClock, Sleeps, make_config, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from openchoreo_sync.client import ApiError, OpenChoreoClient, ResponseTooLargeError
from openchoreo_sync.client.tls import tls_verify
from openchoreo_sync.errors import ConfigError

PAGE = {"items": [{"metadata": {"name": "a"}}], "pagination": {}}


def build_app(clock: FakeClock | None = None) -> Starlette:
    calls = {"busy": 0}

    async def endless(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"items": ['
            for _ in range(40):  # 2.5 MB, twelve times the cap; no content-length
                if await request.is_disconnected():
                    return
                yield b'{"metadata": {"name": "' + b"x" * 64_000 + b'"}},'

        return StreamingResponse(chunks(), media_type="application/json")

    async def busy(request: Request) -> Response:
        calls["busy"] += 1
        if calls["busy"] == 1 and clock is not None:
            return Response(status_code=503, headers={"Retry-After": formatdate(clock() + 9, usegmt=True)})
        return JSONResponse(PAGE)

    async def ok(request: Request) -> Response:
        return JSONResponse(PAGE)

    return Starlette(routes=[Route("/endless", endless), Route("/busy", busy), Route("/api/v1/namespaces", ok)])


async def test_chunked_body_reading_stops_at_the_cap() -> None:
    with serve(build_app()) as url:
        async with OpenChoreoClient(make_config(url, max_response_bytes=200_000)) as client:
            with pytest.raises(ResponseTooLargeError, match="/endless") as caught:
                await client.list_all("/endless", what="endless things")
    assert "reading stopped after" in str(caught.value)
    assert client.stats.bytes_received < 200_000 + 70_000


async def test_retry_after_as_http_date(fake_clock: FakeClock, sleeps: Sleeps) -> None:
    with serve(build_app(fake_clock)) as url:
        async with OpenChoreoClient(make_config(url), clock=fake_clock, sleep=sleeps) as client:
            assert await client.list_all("/busy", what="busy things") == PAGE["items"]
    assert len(sleeps.delays) == 1 and 7.5 <= sleeps.delays[0] <= 9.0


async def test_tls_verification_is_on_by_default(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    with serve(build_app(), certfile=cert, keyfile=key) as url:
        async with OpenChoreoClient(make_config(url)) as client:
            with pytest.raises(ApiError) as caught:
                await client.list_all("/api/v1/namespaces", what="namespaces")
        assert "TLS failure" in str(caught.value) and "openchoreo.client.caBundle" in str(caught.value)
        assert client.stats.requests == 1  # a certificate problem is not retried
        async with OpenChoreoClient(make_config(url, ca_bundle=str(cert))) as client:
            assert await client.list_all("/api/v1/namespaces", what="namespaces") == PAGE["items"]
        async with OpenChoreoClient(make_config(url, verify_tls=False)) as client:
            assert await client.list_all("/api/v1/namespaces", what="namespaces") == PAGE["items"]


def test_tls_settings(tmp_path: Path, self_signed: tuple[Path, Path]) -> None:
    assert tls_verify(make_config("https://x").client) is True
    assert tls_verify(make_config("https://x", verify_tls=False).client) is False
    context = tls_verify(make_config("https://x", ca_bundle=str(self_signed[0])).client)
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ConfigError, match="caBundle"):
        tls_verify(make_config("https://x", ca_bundle=str(tmp_path / "missing.pem")).client)
