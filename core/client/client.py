"""``OpenChoreoClient``: the one object plugins use to read the OpenChoreo API.

One shared ``httpx.AsyncClient`` (over :class:`~.pool.ApiTransport`, its pool sized to
``maxInFlight``) and one semaphore bound all requests of a run, however many collections are
walked at once.
"""

from __future__ import annotations

import asyncio
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
from .pool import ApiTransport
from .requester import Requester
from .retry import RetryPolicy
from .stats import ClientStats
from .tls import tls_verify

_USER_AGENT = "openchoreo-catalog-sync"


class OpenChoreoClient:
    """Async client of the OpenChoreo REST API; implements ``openchoreo_sync.context.ApiClient``.

    ``token_cache`` lets successive clients reuse one token (the daemon passes one per process);
    ``page_counts``, the lists' page counts, which order the next run's requests (:class:`PageCounts`).
    ``transport``, ``clock`` and ``sleep`` exist for tests (fault injection, token expiry and
    backoff without waiting); production code passes only ``config`` and ``log``.
    """

    def __init__(
        self,
        config: OpenChoreoConfig,
        *,
        log: BoundLogger | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        token_cache: TokenCache | None = None,
        page_counts: PageCounts | None = None,
    ) -> None:
        settings = config.client
        self.base_url = config.api_url
        self.auth_enabled = config.auth_enabled
        self.stats = ClientStats()
        self._log: BoundLogger = log if log is not None else structlog.get_logger("openchoreo_sync.client")
        self._max_pages = settings.max_pages
        self._page_counts = page_counts if page_counts is not None else PageCounts()
        self._deadline = config.collection_deadline
        limits = httpx.Limits(max_connections=settings.max_in_flight, max_keepalive_connections=settings.max_in_flight)
        verify = tls_verify(settings)  # a bad CA bundle fails here, at start-up, whatever the transport
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout),
            transport=transport if transport is not None else ApiTransport(verify=verify, limits=limits),
            headers={"User-Agent": _USER_AGENT},
            follow_redirects=False,
            trust_env=False,
        )
        if not settings.verify_tls:
            self._log.warning("TLS certificate verification is off (openchoreo.client.verifyTls: false)")
        retry = RetryPolicy(retries=settings.retries, base=settings.backoff_base)
        self.tokens: TokenProvider | None = None
        if self.auth_enabled:
            self.tokens = TokenProvider(
                config.auth,
                self._http,
                retry=retry,
                stats=self.stats,
                log=self._log,
                clock=clock,
                sleep=sleep,
                cache=token_cache,
            )
        self._requester = Requester(
            base_url=config.api_url,
            http=self._http,
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
        await self._http.aclose()

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
