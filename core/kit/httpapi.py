"""A client for a second HTTP API (an identity provider, a registry ...), with the core client's care.

A family that reads another service than OpenChoreo gets the same guarantees as the core's
OpenChoreo client, from the same machinery: a per-request timeout, bounded retries with backoff
on connection errors, timeouts, 429 and 502/503/504 (a 500 is not retried: it fails the call),
a response size cap, OAuth2 client credentials or a static bearer token (either one refreshed
or masked the same way), and errors (``ApiError``) that name the call and the path and never
carry a secret. Timeouts, retries, the size cap, TLS and the page guard come from
``openchoreo.client`` unless given. :meth:`ExternalApi.walk_offset` walks ``limit``/``offset``
pages with a loop guard.

Example (a ``fetch`` hook)::

    from openchoreo_sync.kit.httpapi import ExternalApi

    async with ExternalApi(settings.base_url, name="directory", client=ctx.config.openchoreo.client,
                           token=settings.token, log=ctx.log) as api:
        people = await api.walk_offset("/people", items_key="people", what="directory people")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from ..client.auth import TokenProvider
from ..client.envelope import decode_json
from ..client.errorbody import parse_error_body
from ..client.errors import ApiError, MalformedResponseError, PaginationError, reason_phrase
from ..client.httpx_sender import HttpxSender
from ..client.requester import USER_AGENT, Requester, TokenSource
from ..client.retry import RetryPolicy
from ..client.stats import ClientStats
from ..client.tls import tls_verify
from ..config import AuthConfig, ClientConfig
from ..context import BoundLogger
from ..logs import register_secret

__all__ = ["ApiError", "AuthConfig", "ExternalApi", "MalformedResponseError", "PaginationError"]


class _StaticToken:
    """A bearer token from configuration: nothing to refresh when the API rejects it."""

    def __init__(self, value: SecretStr) -> None:
        self._value = value

    async def token(self) -> SecretStr:
        return self._value

    def invalidate(self, rejected: SecretStr) -> None:
        return None


class ExternalApi:
    """Async JSON client of one HTTP API rooted at ``base_url``; use it as an async context manager.

    ``auth`` (client credentials, the shape of ``openchoreo.auth``) wins over a static ``token``
    when both are complete; with neither, no ``Authorization`` header is sent. ``hints`` maps an
    HTTP status to what the user should change (``{401: "set directory.token"}``); it is added to
    the error. ``transport``, ``clock`` and ``sleep`` exist for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        client: ClientConfig,
        log: BoundLogger,
        token: SecretStr | None = None,
        auth: AuthConfig | None = None,
        hints: Mapping[int, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.stats = ClientStats()
        self._hints = dict(hints or {})
        self._max_pages = client.max_pages
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(client.timeout),
            limits=httpx.Limits(max_connections=client.max_in_flight, max_keepalive_connections=client.max_in_flight),
            verify=tls_verify(client),
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            trust_env=False,
        )
        retry = RetryPolicy(retries=client.retries, base=client.backoff_base)
        tokens: TokenSource | None = None
        if auth is not None and not auth.missing_keys():
            tokens = TokenProvider(auth, self._http, retry=retry, stats=self.stats, log=log, clock=clock, sleep=sleep)
        elif token is not None and token.get_secret_value():
            register_secret(token.get_secret_value())
            tokens = _StaticToken(token)
        self.authenticated = tokens is not None
        self._tokens = tokens
        self._requester = Requester(
            sender=HttpxSender(self._http, self.base_url),
            tokens=tokens,
            auth_enabled=tokens is not None,
            max_in_flight=client.max_in_flight,
            timeout=client.timeout,
            max_response_bytes=client.max_response_bytes,
            retry=retry,
            stats=self.stats,
            log=log,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"ExternalApi(name={self.name!r}, base_url={self.base_url!r}, authenticated={self.authenticated})"

    async def __aenter__(self) -> ExternalApi:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if isinstance(self._tokens, TokenProvider):
            self._tokens.close()
        await self._http.aclose()

    async def get_json(self, path: str, params: Mapping[str, str] | None = None, *, what: str) -> Any:
        """The decoded JSON of a 2xx answer to ``GET path``; ``ApiError`` for anything else."""
        response = await self._requester.get(path, params, what=what)
        if not 200 <= response.status < 300:
            code, message = parse_error_body(response.body, reason_phrase(response.status))
            if response.attempts > 1:
                message += f" (gave up after {response.attempts} attempts)"
            raise ApiError(
                what=what,
                method="GET",
                path=path,
                status=response.status,
                code=code,
                message=message,
                hint=self._hints.get(response.status),
            )
        return decode_json(response.body, what=what, path=path, content_type=response.content_type)

    async def walk_offset(
        self,
        path: str,
        *,
        items_key: str,
        what: str,
        page_size: int = 100,
        params: Mapping[str, str] | None = None,
        total_key: str = "totalResults",
    ) -> list[dict[str, Any]]:
        """Every item of a ``limit``/``offset`` list, pages read in order.

        The walk ends on an empty page or once ``total_key`` items are read (without a total, on
        a short page). A server that caps ``limit`` below ``page_size`` is followed (the next
        offset is the count read so far). Any failed page fails the whole walk: a list read in
        part must never look like a complete, shorter one. More than ``openchoreo.client.maxPages``
        pages raise ``PaginationError`` instead of looping.
        """
        base = {k: v for k, v in (params or {}).items() if k not in ("limit", "offset")}
        items: list[dict[str, Any]] = []
        page = 0
        while True:
            page += 1
            if page > self._max_pages:
                raise PaginationError(
                    what=what,
                    method="GET",
                    path=path,
                    status=None,
                    message=f"the list at {path} does not end: more than openchoreo.client.maxPages "
                    f"({self._max_pages}) pages",
                )
            query = {**base, "limit": str(page_size), "offset": str(len(items))}
            data = await self.get_json(path, query, what=f"{what} (GET {path}, page {page}, offset {len(items)})")
            self.stats.pages += 1
            page_items, total = _offset_page(data, items_key, total_key, what=what, path=path)
            items.extend(page_items)
            if not page_items:
                return items
            if total is not None:
                if len(items) >= total:
                    return items
            elif len(page_items) < page_size:
                return items


def _offset_page(
    data: Any, items_key: str, total_key: str, *, what: str, path: str
) -> tuple[list[dict[str, Any]], int | None]:
    def malformed(problem: str) -> MalformedResponseError:
        return MalformedResponseError(
            what=what, method="GET", path=path, status=None, message=f"malformed list response from {path}: {problem}"
        )

    if not isinstance(data, dict):
        raise malformed(f"expected a JSON object, got {type(data).__name__}")
    if items_key not in data:
        raise malformed(f"no {items_key!r} key (keys: {', '.join(sorted(data)) or 'none'})")
    items = data[items_key]
    if items is None:
        items = []
    if not isinstance(items, list):
        raise malformed(f"{items_key!r} is a {type(items).__name__}, not a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise malformed(f"{items_key}[{index}] is a {type(item).__name__}, not an object")
    total = data.get(total_key)
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise malformed(f"{total_key!r} is {total!r}, not a count")
    return items, total
