"""Forward a request from a reader process to the daemon's own process, over its private socket.

A reader process (see :mod:`openchoreo_sync.readers`) answers the replica-safe read routes itself
and hands everything else here: the events webhook, ``/metrics``, the probes, the sync API's long
poll, the web UI and any plugin route. The daemon's process answers on a unix socket that only
its readers know; its own token check, body bounds and error shapes apply as if the client had
called it directly, so a forwarded answer is the answer the daemon gives.

The request body is read whole first (the reader's :class:`~openchoreo_sync.http_bounds.BoundedBody`
has already bounded it in time and size); the response is streamed back as it arrives.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from .logs import redact_text
from .server import backstage_error

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
    }
)
"""Headers that describe one connection, not the message: never passed on (httpx sets its own)."""

READ_TIMEOUT = 120.0
"""Longest wait for the daemon's answer: above the sync API's longest poll (60 s)."""


class Forward:
    """ASGI app: the request as received, sent to the daemon's process; its answer, streamed back."""

    def __init__(self, uds: str, *, max_connections: int = 64) -> None:
        self._uds = uds
        self._max_connections = max_connections
        self._client: httpx.AsyncClient | None = None

    def _pool(self) -> httpx.AsyncClient:
        if self._client is None:  # made inside the serving event loop
            transport = httpx.AsyncHTTPTransport(
                uds=self._uds,
                limits=httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=16),
            )
            timeout = httpx.Timeout(connect=5.0, read=READ_TIMEOUT, write=30.0, pool=30.0)
            self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = "http://daemon" + path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        client = self._pool()
        request = client.build_request(scope["method"], url, headers=headers, content=b"".join(chunks))
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            await self._unavailable(scope, receive, send, exc)
            return
        try:
            out: list[tuple[bytes, bytes]] = [
                (k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP or k.lower() == b"content-length"
            ]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    @staticmethod
    async def _unavailable(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        from starlette.requests import Request

        detail: Any = redact_text(f"{type(exc).__name__}: {exc}")
        message = f"the daemon's process did not answer its reader process ({detail}); retry the request"
        await backstage_error(503, "ServiceUnavailableError", message, Request(scope))(scope, receive, send)
