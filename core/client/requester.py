"""Sends one GET to the API: global in-flight limit, size cap, retries, token and token refresh.

Everything above this module (pagination, ``get``) sees one call that either returns the final
response or raises ``ApiError``; the retry and auth machinery stays here.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr

from ..context import BoundLogger
from .errorbody import parse_error_body
from .errors import ApiError, ResponseTooLargeError, auth_off_hint, reason_phrase
from .http11 import BodyTooLarge, HttpResponse, TransportFailure
from .pool import UnsafeHeader, UnusableUrl
from .retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from .stats import ClientStats

_HINTS = {
    "INVALID_CLAIMS": "the token's issuer or audience does not match the API's JWT settings; check that "
    "openchoreo.auth.tokenUrl belongs to the identity provider the API trusts",
    "FORBIDDEN": "grant the sync's client the view roles (cluster-reader, namespace-reader, developer)",
}
_REFRESHED_HINT = (
    "a freshly issued token was rejected too; check that openchoreo.auth.tokenUrl belongs to the "
    "identity provider the API trusts"
)
_NO_ROUTE_HINT = "no such route; check that openchoreo.baseUrl is the API root, such as http://host:8080"


class Sender(Protocol):
    """Sends one GET and reads its whole response: the API's connection pool
    (:class:`~.pool.ConnectionPool`), or httpx for a second API (:class:`~.httpx_sender.HttpxSender`)."""

    async def get(
        self, path: str, params: dict[str, str] | None, headers: list[tuple[str, str]], *, max_bytes: int
    ) -> HttpResponse: ...


class TokenSource(Protocol):
    """Where the bearer token comes from: OAuth2 client credentials (``TokenProvider``) or a static one."""

    async def token(self) -> SecretStr: ...

    def invalidate(self, rejected: SecretStr) -> None: ...


@dataclass(frozen=True)
class RawResponse:
    """A fully read response; ``refreshed`` tells whether a token refresh already happened."""

    status: int
    body: bytes
    content_type: str
    refreshed: bool = False
    attempts: int = 1


class _Transient(Exception):
    """A failed attempt that a retry may fix (or not: ``retryable``)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def describe_transport_error(exc: Exception, timeout: float) -> _Transient:
    """Plain words for a failed attempt, and whether it is worth retrying."""
    tls = _tls_failure(exc)
    if tls is not None:
        return _Transient(
            f"TLS failure ({tls}); set openchoreo.client.caBundle to the CA that signed the API's "
            "certificate (or, only for a test cluster, openchoreo.client.verifyTls: false)",
            retryable=False,
        )
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return _Transient(f"timed out after {timeout:g} s", retryable=True)
    if isinstance(exc, httpx.UnsupportedProtocol | UnusableUrl):
        return _Transient(f"unsupported URL ({exc})", retryable=False)
    if isinstance(exc, UnsafeHeader):
        return _Transient(f"request not sent: {exc}", retryable=False)
    if isinstance(exc, TransportFailure | httpx.NetworkError | httpx.RemoteProtocolError):
        return _Transient(f"connection failed ({type(exc).__name__}: {exc})", retryable=True)
    return _Transient(f"request failed ({type(exc).__name__}: {exc})", retryable=False)


USER_AGENT = "openchoreo-catalog-sync"

AHEAD: contextvars.ContextVar[int] = contextvars.ContextVar("openchoreo_sync_requests_ahead", default=0)
"""Added to the priority of requests made in this context (``kit.fetching.ahead``)."""


class Slots:
    """The in-flight bound, serving the waiter with the longest chain of round trips ahead first.

    A walk's pages are a chain of round trips. Behind a first-come queue each of its pages waited
    for every request queued meanwhile: at 10k components ~240 first pages of small lists queue at
    the start of a run, the five-page walks of the largest collections queued last (their family's
    fetch starts last) and the run's last seconds were those chains alone, a few at a time. A
    request's ``priority`` is the pages its walk has left, counting this one, as the walk's last
    run had them (:mod:`.pagination`); equal priorities are served first come. A slot is handed on
    once the caller of the request that held it ran on, so a walk's next page competes for it. A
    slot given to a waiter cancelled before it could use it is handed on.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self, priority: int = 0) -> None:
        if self._free > 0:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-priority, next(self._arrivals), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # given a slot, then cancelled before using it: the next waiter has it
            else:
                granted.cancel()  # release() skips it; it leaves the heap when it comes up
            raise

    def release_soon(self) -> None:
        """:meth:`release` once the caller ran on, so a walk's next page competes for the slot;
        at once when nobody waits (nothing to compete with, and no loop turn to pay for)."""
        if self._waiting:
            asyncio.get_running_loop().call_soon(self.release)
        else:
            self.release()

    def release(self) -> None:
        while self._waiting:
            granted = heapq.heappop(self._waiting)[2]
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1


class Requester:
    """The single place where API requests are sent."""

    def __init__(
        self,
        *,
        sender: Sender,
        tokens: TokenSource | None,
        auth_enabled: bool,
        max_in_flight: int,
        timeout: float,
        max_response_bytes: int,
        retry: RetryPolicy,
        stats: ClientStats,
        log: BoundLogger,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sender = sender
        self._tokens = tokens
        self._auth_enabled = auth_enabled
        self._limit = Slots(max_in_flight)
        self._timeout = timeout
        self._max_bytes = max_response_bytes
        self._retry = retry
        self._stats = stats
        self._log = log
        self._clock = clock
        self._sleep = sleep

    async def get(
        self,
        path: str,
        params: Mapping[str, str] | None,
        *,
        what: str,
        authenticated: bool = True,
        priority: int = 0,
    ) -> RawResponse:
        """The final response of a GET after retries and at most one token refresh.

        ``authenticated=False`` sends no token, for the API's public routes; ``priority`` orders
        it among requests waiting for a slot (:class:`Slots`).
        """
        tokens = self._tokens if authenticated else None
        refreshed = False
        retries_used = 0
        while True:
            token = await tokens.token() if tokens is not None else None
            try:
                response = await self._attempt(path, params, token, what=what, priority=priority)
            except _Transient as failure:
                if failure.retryable and retries_used < self._retry.retries:
                    retries_used += 1
                    await self._backoff(path, retries_used, None, str(failure), outcome="no_response")
                    continue
                tries = f" after {retries_used + 1} attempts" if retries_used else ""
                raise ApiError(what=what, method="GET", path=path, status=None, message=f"{failure}{tries}") from None
            if response.status in RETRY_STATUSES and retries_used < self._retry.retries:
                retries_used += 1
                retry_after = parse_retry_after(response.headers_retry_after, self._clock())
                await self._backoff(
                    path, retries_used, retry_after, f"HTTP {response.status}", outcome=str(response.status)
                )
                continue
            if response.status == 401 and token is not None and not refreshed and tokens is not None:
                code, _ = parse_error_body(response.body, "")
                if code == "INVALID_TOKEN":
                    refreshed = True
                    tokens.invalidate(token)
                    self._log.warning("token rejected, fetching a new one", path=path)
                    continue
            return RawResponse(response.status, response.body, response.content_type, refreshed, retries_used + 1)

    def error(self, response: RawResponse, *, what: str, path: str) -> ApiError:
        """The ``ApiError`` for a non-2xx response, with a hint where we know the fix."""
        code, message = parse_error_body(response.body, reason_phrase(response.status))
        hint = _HINTS.get(code or "")
        if code == "MISSING_TOKEN" and not self._auth_enabled:
            hint = auth_off_hint()
        elif code == "INVALID_TOKEN" and response.refreshed:
            hint = _REFRESHED_HINT
        elif response.status == 404 and code is None:
            hint = _NO_ROUTE_HINT
        if response.status in RETRY_STATUSES and response.attempts > 1:
            message += f" (gave up after {response.attempts} attempts)"
        return ApiError(
            what=what, method="GET", path=path, status=response.status, code=code, message=message, hint=hint
        )

    async def _backoff(
        self, path: str, retry_number: int, retry_after: float | None, reason: str, *, outcome: str
    ) -> None:
        delay = self._retry.delay(retry_number, retry_after)
        self._stats.retries += 1
        self._stats.retry_outcomes[outcome] += 1
        self._log.debug(  # counted in openchoreo_sync_api_retries_total; a final failure is logged by the run
            "request retry",
            method="GET",
            path=path,
            retry=retry_number,
            of=self._retry.retries,
            reason=reason,
            delay_s=round(delay, 3),
        )
        await self._sleep(delay)

    async def _attempt(
        self, path: str, params: Mapping[str, str] | None, token: SecretStr | None, *, what: str, priority: int
    ) -> _Attempt:
        await self._limit.acquire(priority + AHEAD.get())
        try:
            started = time.perf_counter()
            self._stats.started(path)
            status: int | None = None
            try:
                async with asyncio.timeout(self._timeout):
                    result = await self._read(path, params, token, what=what)
                status = result.status
                return result
            except (TransportFailure, UnusableUrl, UnsafeHeader, httpx.RequestError, TimeoutError) as exc:
                raise describe_transport_error(exc, self._timeout) from None
            finally:
                self._stats.finished(status)
                self._log.debug(
                    "request",
                    method="GET",
                    path=path,
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
        finally:
            self._limit.release_soon()

    async def _read(
        self, path: str, params: Mapping[str, str] | None, token: SecretStr | None, *, what: str
    ) -> _Attempt:
        headers = [("Accept", "application/json"), ("User-Agent", USER_AGENT)]
        if token is not None:
            headers.append(("Authorization", "Bearer " + token.get_secret_value()))
        try:
            response = await self._sender.get(
                path, dict(params) if params else None, headers, max_bytes=self._max_bytes
            )
        except BodyTooLarge as exc:
            self._stats.bytes_received += exc.received
            raise self._too_large(path, what, exc.detail) from None
        self._stats.bytes_received += len(response.body)
        return _Attempt(
            status=response.status,
            body=response.body,
            content_type=response.headers.get("content-type", ""),
            headers_retry_after=response.headers.get("retry-after"),
        )

    def _too_large(self, path: str, what: str, detail: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            what=what,
            method="GET",
            path=path,
            status=None,
            message=f"response from {path} is larger than openchoreo.client.maxResponseBytes "
            f"({self._max_bytes} bytes): {detail}",
        )


@dataclass(frozen=True)
class _Attempt:
    status: int
    body: bytes
    content_type: str
    headers_retry_after: str | None
