"""What one HTTP client may hold of the daemon: time to send headers and body, connections, body size.

Uvicorn times out idle keep-alive connections but not a client that sends its headers slowly, and
it accepts connections until ``accept()`` fails for lack of file descriptors, after which the
daemon's own next socket or file (its OpenChoreo client, the store) fails too. So:

* a connection whose request headers are not complete ``headerTimeout`` seconds after it opened
  (or after its previous response) is closed;
* a connection beyond ``maxConnections`` is answered 503 and closed at once, so descriptors held
  by clients stay well below the process's open-files limit;
* a request body that pauses longer than ``bodyTimeout`` or grows past ``maxBodyBytes`` ends the
  request with 408 / 413 (raised here, answered by :mod:`openchoreo_sync.server`).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # a C parser (uvicorn's "httptools" protocol); optional, the h11 protocol is the fallback
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools not installed
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

from .errors import SyncError

MAX_DEFAULT_CONNECTIONS = 1024
RESERVED_DESCRIPTORS = 128
"""Kept free of clients whatever the settings: the OpenChoreo client's pool, the store, log files."""

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b'content-length: 107\r\n\r\n{"error":{"name":"ServiceUnavailableError","message":"too many open connections"},'
    b'"response":{"statusCode":503}}'
)


class BodyTimeout(SyncError):
    """The client paused longer than ``openchoreo.server.bodyTimeout`` while sending a body."""


class BodyTooLarge(SyncError):
    """The request body is larger than ``openchoreo.server.maxBodyBytes``."""


def descriptor_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_limit(configured: int | None) -> int:
    """``configured``, but never so many that clients could take the descriptors the daemon needs."""
    ceiling = max(8, descriptor_limit() - RESERVED_DESCRIPTORS)
    wanted = configured if configured is not None else min(MAX_DEFAULT_CONNECTIONS, descriptor_limit() // 4)
    return max(1, min(wanted, ceiling))


class CoalescingTransport:
    """A transport whose writes within one turn of the event loop leave as one ``writelines``.

    Uvicorn writes a response's status line and headers, then its body, as two ``write`` calls:
    two ``send`` system calls and two TCP segments per response, which the client then reads
    separately. On this 2-core machine that was a third of a reader process's CPU per by-name
    request. Held writes go out at the end of the loop's current turn (``call_soon``), so nothing
    waits longer than the code that wrote it keeps running; ``close`` sends them first.
    Everything else is the wrapped transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(data)

    def _flush(self) -> None:
        held, self._held = self._held, []
        if held and not self._transport.is_closing():
            self._transport.writelines(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def bounded_protocol(header_timeout: float, max_connections: int, *, fast: bool = False) -> type[Any]:
    """Uvicorn's h11 protocol with a header deadline and a cap on open connections.

    ``fast``: uvicorn's httptools protocol instead (a C parser, ~1.5x the requests per second of
    h11 here) when httptools is installed, with the same bounds: both protocols keep the request
    in flight as ``self.cycle`` and call ``on_response_complete`` after each response.
    """
    base: type[Any] = HttpToolsProtocol if fast and HttpToolsProtocol is not None else H11Protocol

    class BoundedH11(base):  # type: ignore[misc]
        _header_timer: asyncio.TimerHandle | None = None
        _armed_for: Any = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(CoalescingTransport(transport, self.loop))
            if len(self.connections) > max_connections:
                transport.write(_BUSY)
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._armed_for = self.cycle
            self._header_timer = self.loop.call_later(header_timeout, self._headers_overdue)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_overdue(self) -> None:
            self._header_timer = None
            waiting = self.cycle is self._armed_for and (self.cycle is None or self.cycle.response_complete)
            if waiting and not self.transport.is_closing():
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return BoundedH11


class BoundedBody:
    """ASGI middleware: each wait for body data is bounded in time, the total in bytes."""

    def __init__(self, app: Any, *, timeout: float, max_bytes: int) -> None:
        self.app = app
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise BodyTooLarge(f"the request body declares {int(declared)} bytes, more than {self.max_bytes}")
        received = 0
        complete = False

        async def bounded_receive() -> Any:
            nonlocal received, complete
            if complete:  # later receives only wait for a disconnect (while a response streams)
                return await receive()
            try:
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(f"the client sent no body data for {self.timeout:g} s") from None
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(f"the request body exceeds {self.max_bytes} bytes")
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        await self.app(scope, bounded_receive, send)
