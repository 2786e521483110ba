"""ASGI layer in front of the API that records requests and injects faults.

It sits where a gateway or a flaky network would: before routing and authentication.
Connection resets need the raw transport, which the runner's uvicorn protocol puts into
``scope["mock.transport"]``; without it the layer falls back to an aborted response.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from .faults import FaultRule
from .responses import go_json, internal_error, text_error
from .state import MockState
from .thunder import PREFIX as THUNDER_PREFIX
from .thunder import offset_page

_PHRASES = {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class FaultLayer:
    """Wraps the Starlette app; control routes under ``/_mock/`` bypass it entirely."""

    def __init__(self, app: ASGIApp, state: MockState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_mock/"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        seq = self.state.stats.record(scope["method"], path, query, headers.get("authorization"))
        scope["mock.seq"] = seq
        faults = self.state.faults
        if faults.latency_ms and path.startswith("/api/"):
            await asyncio.sleep(faults.latency_ms / 1000)
        parsed = parse_qs(query)
        cursor = (parsed.get("cursor") or [""])[0]
        info = self.state.stats.cursor_info(cursor) if cursor else None
        page = 1 if not cursor else (info[1] if info else 0)
        if not cursor and self.state.directory is not None:  # limit/offset paging (the directory)
            page = offset_page(parsed, self.state.directory.max_limit) or page
        scope["mock.page"] = page
        rule = faults.decide(path, page)
        if rule is None or rule.action == "cursor_loop":
            scope["mock.fault"] = rule
            await self.app(scope, receive, send)
            return
        await self._apply(rule, scope, receive, send)

    async def _apply(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        if rule.action == "status":
            headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
            if rule.status == 500 and scope["path"].startswith(THUNDER_PREFIX + "/"):
                response = text_error("Internal Server Error", 500, headers)  # Thunder answers text/plain
            elif rule.status == 500:
                response = internal_error()
                if headers:
                    response.headers.update(headers)
            else:
                response = text_error(_PHRASES.get(rule.status, "Error"), rule.status, headers)
            await response(scope, receive, send)
        elif rule.action == "reset":
            await self._reset(scope, send)
        elif rule.action == "timeout":
            if await self._hang(receive, rule.hang_seconds):
                return
            await self.app(scope, receive, send)
        elif rule.action == "malformed":
            await _raw(send, b'{"items":[{"apiVersion":"openchoreo.dev/v1alpha1","metadata":{"name":')
        elif rule.action == "wrong_types":
            await _raw(send, go_json({"items": {"unexpected": "object"}, "pagination": {"nextCursor": 12345}}))

    @staticmethod
    async def _hang(receive: Receive, seconds: float) -> bool:
        """Wait until the client disconnects (True) or ``seconds`` pass (False)."""

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        try:
            await asyncio.wait_for(until_disconnect(), seconds)
            return True
        except TimeoutError:
            return False

    @staticmethod
    async def _reset(scope: Scope, send: Send) -> None:
        transport: Any = scope.get("mock.transport")
        if transport is None:
            # No raw transport: start a response and abort it so the server drops the socket.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            raise ConnectionAbortedError("mock fault: connection reset")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await asyncio.sleep(0)


async def _raw(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
