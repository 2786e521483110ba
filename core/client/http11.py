"""One HTTP/1.1 keep-alive connection to the API: a GET written as bytes, its response parsed by httptools.

Why not httpx here: a sync is hundreds of small GETs, and a profile of a run with nothing changed
at 10k components had httpx's request and response models (URL parsing character by character,
header merging, cookie extraction, the auth and redirect loops, byte-stream wrappers) at ~25 %
of the run's CPU and httpcore's h11 state machine at ~20 %, on the event loop that also serves
the catalog. The API client needs none of those features: one origin, GET only, no cookies, no
redirects (the API sends none; a 3xx is an error), no proxies. What remains is what a library
must do right, parsing the response (status line, headers, chunked bodies, keep-alive), and that
is httptools (llhttp, the parser uvicorn uses), already a dependency of the read API.

Errors are :class:`TransportFailure` subclasses, which the requester words and retries
(``requester.describe_transport_error``); TLS failures keep their ``ssl.SSLError`` as the cause.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import zlib
from dataclasses import dataclass

import httptools


class TransportFailure(Exception):
    """An attempt failed below HTTP: a new connection may fix it (the requester retries it)."""


class ConnectFailed(TransportFailure):
    """The TCP connection (or its TLS handshake) could not be made."""


class ConnectionDropped(TransportFailure):
    """The server closed or reset the connection before the response was complete."""


class MalformedHttp(TransportFailure):
    """The bytes the server sent are not an HTTP/1.1 response."""


class BodyTooLarge(Exception):
    """The response is larger than the caller's bound; ``detail`` says how that was known,
    ``received`` how much of the body was read before reading stopped (for the client's counters)."""

    def __init__(self, detail: str, received: int = 0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.received = received


@dataclass(frozen=True)
class HttpResponse:
    """A fully read response. Header names are lower case; a repeated header keeps its last value."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Inflater:
    """Decodes a gzip or deflate body as it arrives, bounded like the body itself (a small
    compressed body must not expand past the bound)."""

    def __init__(self, encoding: str) -> None:
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)

    def decode(self, data: bytes, room: int) -> bytes:
        decoded = self._zlib.decompress(data, room + 1)
        if self._zlib.unconsumed_tail:
            return decoded + b"\0"  # more than ``room`` bytes: the caller's bound trips
        return decoded

    def flush(self) -> bytes:
        return self._zlib.flush()


class Http11Connection(asyncio.Protocol):
    """One connection, one request at a time; reusable while the server keeps it alive.

    The parser's callbacks collect the response; ``on_message_complete`` settles the waiting
    request. Anything the server sends while no request waits (a late byte, a second response)
    makes the connection unusable, so it is closed rather than trusted with the next request.
    """

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._max_bytes = 0
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._size = 0
        self._inflater: _Inflater | None = None
        self._headers_done = False
        self._failure: BaseException | None = None
        self.closed = False
        self.idle_since = 0.0

    # --- used by the pool ---

    @property
    def reusable(self) -> bool:
        return not self.closed and self._waiter is None

    async def request(self, data: bytes, max_bytes: int) -> HttpResponse:
        """Send one request's bytes and wait for its response (cancelling aborts the connection)."""
        if self._transport is None or self.closed:
            raise ConnectionDropped("the connection is closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[HttpResponse] = loop.create_future()
        self._waiter = waiter
        self._max_bytes = max_bytes
        self._headers, self._chunks, self._size = {}, [], 0
        self._inflater, self._headers_done, self._failure = None, False, None
        self._transport.write(data)
        try:
            return await waiter
        except BaseException:
            self.abort()
            raise
        finally:
            self._waiter = None
            self.idle_since = loop.time()

    def abort(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.abort()  # bytes nobody asked for: the next response could not be told from them
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            self._settle_failure(self._failure or MalformedHttp("the response could not be read"))
        except httptools.HttpParserError as exc:
            self._settle_failure(MalformedHttp(f"malformed HTTP response ({exc})"))

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost settles a waiting request

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and self._reads_until_close():
            self._complete()  # a body without a length ends where the connection does
        elif exc is not None:
            self._settle_failure(ConnectionDropped(f"the connection was lost ({type(exc).__name__}: {exc})"))
        else:
            self._settle_failure(ConnectionDropped("the server closed the connection before the response was complete"))

    # --- httptools callbacks ---

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():
            self._fail(MalformedHttp("the server sent a second response to one request"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True
        declared = self._headers.get("content-length", "")
        encoding = self._headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "deflate"):
            self._inflater = _Inflater(encoding)
        elif encoding != "identity":
            self._fail(MalformedHttp(f"the response is encoded as {encoding!r}, which was not asked for"))
        elif declared.isdigit() and int(declared) > self._max_bytes:
            self._fail(BodyTooLarge(f"it declares {int(declared)} bytes"))

    def on_body(self, body: bytes) -> None:
        if self._inflater is not None:
            body = self._inflater.decode(body, self._max_bytes - self._size)
        self._size += len(body)
        if self._size > self._max_bytes:
            self._fail(BodyTooLarge(f"reading stopped after {self._size} bytes", self._size))
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self._complete()
        if not self._parser.should_keep_alive():
            self.close()

    # --- settling ---

    def _reads_until_close(self) -> bool:
        return "content-length" not in self._headers and "chunked" not in self._headers.get("transfer-encoding", "")

    def _complete(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._inflater is not None:
                self._chunks.append(self._inflater.flush())
            body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            waiter.set_result(HttpResponse(self._parser.get_status_code(), self._headers, body))

    def _fail(self, failure: BaseException) -> None:
        """Stop the parser from a callback; ``data_received`` settles the request with ``failure``."""
        self._failure = failure
        raise failure

    def _settle_failure(self, failure: BaseException) -> None:
        self.abort()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(failure)


async def open_connection(
    host: str, port: int, *, tls: ssl.SSLContext | None, server_hostname: str | None
) -> Http11Connection:
    """A new connection (TCP, and TLS when ``tls`` is given); the caller bounds the time it takes."""
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await loop.create_connection(
            Http11Connection, host, port, ssl=tls, server_hostname=server_hostname if tls is not None else None
        )
    except ssl.SSLError as exc:
        raise ConnectFailed(f"TLS handshake with {host}:{port} failed: {exc}") from exc
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # not asyncio's "Connect call failed (...)"
        raise ConnectFailed(f"cannot connect to {host}:{port}: {reason}") from exc
    return protocol
