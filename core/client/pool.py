"""The API client's connection pool: HTTP/1.1 keep-alive connections, reused newest first.

httpcore's ``AsyncConnectionPool`` re-examines every connection on every request and every
release (``_assign_requests_to_connections``: an ``is_idle`` count per connection, which is
quadratic in the pool size, and a ``has_expired`` socket check per idle connection). With the
default 16 connections that was ~1,000 ``is_idle`` calls and ~80 socket checks per request, a
third of the sync's fetch CPU. This pool keeps a stack of idle connections per origin: a request
takes the newest one (checking only that one for expiry), or opens a new one; a finished response
puts its connection back. The in-flight bound is a semaphore (waiting for it is the ``pool``
timeout, ``PoolTimeout`` as before); the HTTP/1.1 work itself stays httpcore's
(``AsyncHTTP11Connection``).

:class:`ApiTransport` puts it under ``httpx.AsyncClient``: the request/response conversion and the
mapping of httpcore's exceptions to httpx's are those of ``httpx.AsyncHTTPTransport``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpcore
import httpx

from .streams import AsyncioBackend

_Connection = httpcore.AsyncHTTP11Connection
_Key = tuple[bytes, bytes, int]
"""An origin as (scheme, host, port): ``httpcore.Origin`` is not hashable."""


def _key(origin: httpcore.Origin) -> _Key:
    return (origin.scheme, origin.host, origin.port)


_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    # most specific first: the first match wins
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class KeepAlivePool:
    """At most ``max_connections`` requests at once, over at most as many open connections."""

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_expiry: float | None,
        ssl_context: Callable[[], ssl.SSLContext],
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._ssl_factory = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._backend = backend if backend is not None else AsyncioBackend()
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_Key, list[_Connection]] = {}
        self._open: dict[_Connection, _Key] = {}

    @property
    def connections(self) -> int:
        """Open connections, idle or busy (for tests)."""
        return len(self._open)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https"):
            shown = scheme.decode("ascii", "replace")
            raise httpcore.UnsupportedProtocol(
                "Request URL is missing an 'http://' or 'https://' protocol."
                if not shown
                else f"Request URL has an unsupported protocol '{shown}://'."
            )
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpcore.PoolTimeout("no connection became free within the pool timeout") from None
        connection: _Connection | None = None
        try:
            connection = await self._checkout(request)
            response = await connection.handle_async_request(request)
        except BaseException:
            self._slots.release()
            if connection is not None and not connection.is_idle():
                self._forget(connection)
                await connection.aclose()
            elif connection is not None:
                self._checkin(connection)
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_Released(response.stream, self, connection),
            extensions=response.extensions,
        )

    async def _checkout(self, request: httpcore.Request) -> _Connection:
        origin = request.url.origin
        key = _key(origin)
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            self._forget(connection)
            await connection.aclose()
        if len(self._open) >= self._max:  # idle connections to another origin (the token URL) make room
            await self._close_one_idle()
        stream = await self._connect(request)
        connection = _Connection(origin=origin, stream=stream, keepalive_expiry=self._expiry)
        self._open[connection] = key
        return connection

    async def _connect(self, request: httpcore.Request) -> httpcore.AsyncNetworkStream:
        """What ``httpcore.AsyncHTTPConnection`` does for HTTP/1.1: TCP, then TLS for https."""
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        timeout = timeouts.get("connect")
        origin = request.url.origin
        host = origin.host.decode("ascii")
        stream = await self._backend.connect_tcp(host, origin.port, timeout=timeout)
        if origin.scheme == b"https":
            if self._ssl is None:
                self._ssl = self._ssl_factory()
                self._ssl.set_alpn_protocols(["http/1.1"])
            context = self._ssl
            sni = request.extensions.get("sni_hostname")
            stream = await stream.start_tls(context, server_hostname=sni or host, timeout=timeout)
        return stream

    async def _close_one_idle(self) -> None:
        for idle in self._idle.values():
            if idle:
                connection = idle.pop(0)
                self._forget(connection)
                await connection.aclose()
                return

    def _checkin(self, connection: _Connection) -> None:
        key = self._open.get(connection)
        if key is not None and connection.is_idle():
            self._idle.setdefault(key, []).append(connection)
        else:
            self._forget(connection)

    def _forget(self, connection: _Connection) -> None:
        self._open.pop(connection, None)

    async def release(self, connection: _Connection) -> None:
        """A response was closed: its connection goes back if it can take another request."""
        try:
            if connection.is_idle():
                self._checkin(connection)
            else:
                self._forget(connection)
                if not connection.is_closed():
                    await connection.aclose()
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        connections = list(self._open)
        self._open.clear()
        self._idle.clear()
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.aclose()


class _Released:
    """A response body that gives its connection back to the pool once closed."""

    def __init__(self, stream: Any, pool: KeepAlivePool, connection: _Connection) -> None:
        self._stream = stream
        self._pool = pool
        self._connection = connection
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            await self._pool.release(self._connection)


class _MappedStream(httpx.AsyncByteStream):
    def __init__(self, stream: _Released) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._stream.aclose()


class ApiTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport`` for HTTP/1.1 without proxies, over :class:`KeepAlivePool`."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        def context() -> ssl.SSLContext:
            # made on the first https connection: loading the trust store costs ~30 ms of CPU,
            # which an http:// API (and every short CLI run against one) never needs
            return verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify, trust_env=False)

        self.pool = KeepAlivePool(
            max_connections=limits.max_connections or 100,
            keepalive_expiry=limits.keepalive_expiry,
            ssl_context=context,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self.pool.handle_async_request(core_request)
        assert isinstance(response.stream, _Released)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_MappedStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()
