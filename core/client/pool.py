"""The API client's connections to its one origin: keep-alive, reused newest first.

The requester's slots (``requester.Slots``) bound the requests in flight, and each request holds
one connection until its response is read, so the pool needs no bound of its own: it opens a
connection only when none is idle, which keeps the open connections at or under ``maxInFlight``.
An idle connection is reused only while the server has not closed it and it has been idle less
than ``keepalive_expiry`` (a server's own idle timeout would otherwise race the next request).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from .http11 import Http11Connection, HttpResponse, open_connection

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=~"
"""Characters a path keeps as they are (RFC 3986 pchar, ``/`` and existing escapes)."""


class UnusableUrl(ValueError):
    """``openchoreo.baseUrl`` is not an http(s) URL with a host; no request can be sent."""


@dataclass(frozen=True)
class Origin:
    """Where requests go, parsed once from ``baseUrl``: scheme, host, port, the path prefix."""

    scheme: str
    host: str
    port: int
    prefix: str
    host_header: str

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            shown = f"'{scheme}://'" if scheme else "none"
            raise UnusableUrl(f"{base_url!r} has an unsupported protocol ({shown}); use http:// or https://")
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise UnusableUrl(f"{base_url!r} has an invalid port ({exc})") from None
        host = parts.hostname
        if not host:
            raise UnusableUrl(f"{base_url!r} has no host")
        shown_host = f"[{host}]" if ":" in host else host
        host_header = shown_host if port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
        return cls(scheme, host, port, parts.path.rstrip("/"), host_header)

    def target(self, path: str, params: dict[str, str] | None) -> str:
        """The request target: the prefix and ``path`` percent-encoded, then the query."""
        target = quote(self.prefix + path, safe=_PATH_SAFE)
        if params:
            target += "?" + urlencode(params, quote_via=quote)
        return target


class UnsafeHeader(ValueError):
    """A header value that would end the header (a line break) or cut it (NUL): never sent."""


def _header_lines(headers: Iterable[tuple[str, str]]) -> str:
    lines = []
    for name, value in headers:
        if any(c in value for c in "\r\n\0"):
            raise UnsafeHeader(f"the {name} header's value contains a line break or NUL")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines)


class ConnectionPool:
    """Open connections to one origin; idle ones in a stack, the newest taken first.

    A ``base_url`` no request can go to is kept as the error each request raises (it names the
    collection that could not be read, as a request to a bad URL always did).
    """

    def __init__(
        self, base_url: str, *, ssl_context: Callable[[], ssl.SSLContext], keepalive_expiry: float = 5.0
    ) -> None:
        self.origin: Origin | UnusableUrl
        try:
            self.origin = Origin.parse(base_url)
        except UnusableUrl as exc:
            self.origin = exc
        self._ssl_factory = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._expiry = keepalive_expiry
        self._idle: list[Http11Connection] = []
        self._open: set[Http11Connection] = set()
        self._fixed = f"Host: {self.origin.host_header}\r\n" if isinstance(self.origin, Origin) else ""

    @property
    def connections(self) -> int:
        """Open connections, idle or busy (for tests)."""
        self._open = {c for c in self._open if not c.closed}
        return len(self._open)

    async def get(
        self, path: str, params: dict[str, str] | None, headers: Iterable[tuple[str, str]], *, max_bytes: int
    ) -> HttpResponse:
        """One GET on an idle connection or a new one; the response is read whole (at most
        ``max_bytes`` of body, else ``BodyTooLarge``)."""
        origin = self.origin
        if isinstance(origin, UnusableUrl):
            raise origin
        target = origin.target(path, params)
        data = (f"GET {target} HTTP/1.1\r\n{self._fixed}{_header_lines(headers)}\r\n").encode("latin-1")
        connection = self._checkout() or await self._connect()
        try:
            response = await connection.request(data, max_bytes)
        finally:
            if connection.reusable:
                self._idle.append(connection)
            else:
                self._open.discard(connection)
                connection.abort()
        return response

    def _checkout(self) -> Http11Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and now - connection.idle_since < self._expiry:
                return connection
            self._open.discard(connection)
            connection.close()
        return None

    async def _connect(self) -> Http11Connection:
        origin = self.origin
        assert isinstance(origin, Origin)
        tls = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = self._ssl_factory()
                self._ssl.set_alpn_protocols(["http/1.1"])
            tls = self._ssl
        connection = await open_connection(origin.host, origin.port, tls=tls, server_hostname=origin.host)
        self._open.add(connection)
        return connection

    def close(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
