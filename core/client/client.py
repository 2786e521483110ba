"""``OpenChoreoClient``: the one object plugins use to read the OpenChoreo API.

One connection pool to the API (:class:`~.pool.ConnectionPool`, HTTP/1.1 keep-alive over
:mod:`.http11`) and one set of request slots bound all requests of a run, however many
collections are walked at once. The token endpoint, a request an hour, is httpx's.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import structlog

from ..config import OpenChoreoConfig
from ..context import BoundLogger
from .auth import TokenCache, TokenProvider
from .envelope import decode_json, parse_page
from .errors import ApiError, MalformedResponseError
from .pagination import ONE_OBJECT, Listed, PageCounts, walk
from .pool import ConnectionPool
from .requester import USER_AGENT, Requester
from .retry import RetryPolicy
from .stats import ClientStats
from .tls import tls_verify


class _FirstUseTransport(httpx.AsyncBaseTransport):
    """The token endpoint's transport, made on the first token request: a client whose token is
    cached (the daemon keeps one per process) never loads the trust store for it."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._transport: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = self._make()
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()


class OpenChoreoClient:
    """Async client of the OpenChoreo REST API; implements ``openchoreo_sync.context.ApiClient``.

    ``token_cache`` lets successive clients reuse one token (the daemon passes one per process);
    ``page_counts``, the lists' page counts, which order the next run's requests (:class:`PageCounts`).
    ``clock`` and ``sleep`` exist for tests (token expiry and backoff without waiting);
    production code passes only ``config`` and ``log``.
    """

    def __init__(
        self,
        config: OpenChoreoConfig,
        *,
        log: BoundLogger | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        token_cache: TokenCache | None = None,
        page_counts: PageCounts | None = None,
    ) -> None:
        settings = config.client
        self.base_url = config.api_url
        self.auth_enabled = config.auth_enabled
        self.stats = ClientStats()
        # bound once: structlog's lazy proxy (``get_logger``, with caching off so tests can
        # reconfigure) builds a logger on every call, ~70 us per request's debug line
        self._log: BoundLogger = (log if log is not None else structlog.get_logger("openchoreo_sync.client")).bind()
        self._max_pages = settings.max_pages
        self._page_counts = page_counts if page_counts is not None else PageCounts()
        self._deadline = config.collection_deadline
        verify = tls_verify(settings)  # a bad CA bundle fails here, at start-up

        def tls_context() -> ssl.SSLContext:
            # made on the first https connection: loading the trust store costs ~30 ms of CPU,
            # which an http:// API (and every short CLI run against one) never needs
            return verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify, trust_env=False)

        self._pool = ConnectionPool(config.api_url, ssl_context=tls_context)
        self._token_http: httpx.AsyncClient | None = None
        if not settings.verify_tls:
            self._log.warning("TLS certificate verification is off (openchoreo.client.verifyTls: false)")
        retry = RetryPolicy(retries=settings.retries, base=settings.backoff_base)
        self.tokens: TokenProvider | None = None
        if self.auth_enabled:
            self._token_http = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.timeout),
                transport=_FirstUseTransport(lambda: httpx.AsyncHTTPTransport(verify=tls_context(), trust_env=False)),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=False,
            )
            self.tokens = TokenProvider(
                config.auth,
                self._token_http,
                retry=retry,
                stats=self.stats,
                log=self._log,
                clock=clock,
                sleep=sleep,
                cache=token_cache,
            )
        self._requester = Requester(
            sender=self._pool,
            tokens=self.tokens,
            auth_enabled=self.auth_enabled,
            max_in_flight=settings.max_in_flight,
            timeout=settings.timeout,
            max_response_bytes=settings.max_response_bytes,
            retry=retry,
            stats=self.stats,
            log=self._log,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"OpenChoreoClient(base_url={self.base_url!r}, auth_enabled={self.auth_enabled})"

    async def __aenter__(self) -> OpenChoreoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; pending token fetches are cancelled."""
        if self.tokens is not None:
            self.tokens.close()
        self._pool.close()
        if self._token_http is not None:
            await self._token_http.aclose()

    async def list_all(self, path: str, params: Mapping[str, str] | None = None, *, what: str) -> Listed:
        """Every item of the paginated list at ``path`` (all pages, ``limit=100``), with a digest
        of the pages' bytes (:class:`~.pagination.Listed`).

        Raises ``ApiError`` (or a subclass: ``MalformedResponseError``, ``ResponseTooLargeError``,
        ``PaginationError``); ``what`` names the collection in the message, e.g. ``namespaces``.
        """

        async def fetch(query: dict[str, str], priority: int) -> tuple[Any, bytes]:
            return await self._fetch_json(path, query, what=what, priority=priority)

        try:
            async with asyncio.timeout(self._deadline):
                return await walk(
                    fetch,
                    path,
                    params,
                    what=what,
                    max_pages=self._max_pages,
                    stats=self.stats,
                    log=self._log,
                    page_counts=self._page_counts,
                )
        except TimeoutError:
            raise self._overdue(path, what) from None

    def _overdue(self, path: str, what: str) -> ApiError:
        """A collection past its deadline fails alone, so the rest of the run is still applied."""
        return ApiError(
            what=what,
            method="GET",
            path=path,
            status=None,
            message=f"did not complete within {self._deadline:g} s (openchoreo.client.collectionTimeout); "
            "it is retried next run and its entities are kept meanwhile",
        )

    async def get(self, path: str, *, what: str) -> dict[str, Any] | None:
        """One object, or None when the API says it does not exist (404 ``NOT_FOUND``).

        A 404 without the API's JSON body is an unknown route (wrong baseUrl or path), which is
        an error, not a missing object.
        """
        try:
            async with asyncio.timeout(self._deadline):
                # A single object is the last link of a chain (an item's details after its list):
                # ahead of first pages waiting, behind a walk's next page (``Slots``).
                response = await self._requester.get(path, None, what=what, priority=ONE_OBJECT)
        except TimeoutError:
            raise self._overdue(path, what) from None
        if response.status == 404:
            error = self._requester.error(response, what=what, path=path)
            if error.code is not None:
                return None
            raise error
        if not 200 <= response.status < 300:
            raise self._requester.error(response, what=what, path=path)
        data = decode_json(response.body, what=what, path=path, content_type=response.content_type)
        if not isinstance(data, dict):
            raise MalformedResponseError(
                what=what,
                method="GET",
                path=path,
                status=None,
                message=f"response from {path} is a JSON {type(data).__name__}, not an object",
            )
        return data

    async def get_page(
        self, path: str, params: Mapping[str, str] | None = None, *, what: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a list: ``(items, next_cursor)``; for probes and diagnostics."""
        data, _ = await self._fetch_json(path, dict(params or {}), what=what)
        return parse_page(data, what=what, path=path)

    async def get_public(self, path: str, *, what: str) -> dict[str, Any] | None:
        """A JSON object from a public route (no token sent); None on 404."""
        response = await self._requester.get(path, None, what=what, authenticated=False)
        if response.status == 404:
            return None
        if not 200 <= response.status < 300:
            raise self._requester.error(response, what=what, path=path)
        data = decode_json(response.body, what=what, path=path, content_type=response.content_type)
        return data if isinstance(data, dict) else None

    async def _fetch_json(
        self, path: str, query: Mapping[str, str], *, what: str, priority: int = 0
    ) -> tuple[Any, bytes]:
        """A successful GET's decoded JSON and the bytes it was decoded from (a walk digests them)."""
        response = await self._requester.get(path, query, what=what, priority=priority)
        if not 200 <= response.status < 300:
            raise self._requester.error(response, what=what, path=path)
        return decode_json(response.body, what=what, path=path, content_type=response.content_type), response.body


if TYPE_CHECKING:  # mypy proves the client satisfies the protocol plugins are typed against
    from ..context import ApiClient

    _conforms: type[ApiClient] = OpenChoreoClient
