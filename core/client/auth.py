"""OAuth2 client-credentials tokens for the API: fetched once, shared across runs, refreshed before expiry.

Differences from the official module, on purpose: a failed token request raises ``TokenError``
instead of silently calling the API without a token, and a token the API rejects with
``INVALID_TOKEN`` is replaced (the client asks for that through :meth:`TokenProvider.invalidate`).
The token is held as a ``SecretStr`` and never logged; only its lifetime is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from ..config import AuthConfig
from ..context import BoundLogger
from ..logs import register_issued_token
from .errorbody import shorten
from .errors import TokenError
from .retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from .stats import ClientStats

REFRESH_MARGIN = 60.0
"""Seconds before expiry at which a token is replaced, like the official module."""
DEFAULT_LIFETIME = 300.0
"""Assumed lifetime when the token is opaque and the response has no ``expires_in``."""


def display_url(url: str) -> str:
    """The URL without user info or query, safe to put in messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (epoch seconds) of a JWT, read without verifying it; None if opaque.

    Verification is the API's job; we only need to know when to refresh.
    """
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(pieces[1] + "=" * (-len(pieces[1]) % 4)))
    except (ValueError, TypeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


def usable_lifetime(lifetime: float) -> float:
    """How long to use a token of ``lifetime`` seconds: 60 s less, but at least half, never < 0."""
    if lifetime <= 0:
        return 0.0
    return max(lifetime - REFRESH_MARGIN, lifetime / 2)


def normalise_scope(scope: str | None) -> str | None:
    """Whitespace-separated scopes joined by single spaces; None when there are none."""
    words = (scope or "").split()
    return " ".join(words) if words else None


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    refresh_at: float


class TokenCache:
    """Where providers keep the token, so it outlives one client.

    The daemon opens a client per run (and per batch of events); sharing one cache between them
    reuses a token until shortly before it expires instead of fetching one every run.
    """

    def __init__(self) -> None:
        self.token: _Token | None = None


class TokenProvider:
    """Single-flight, cached client-credentials token source for one ``OpenChoreoClient``."""

    def __init__(
        self,
        auth: AuthConfig,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy,
        stats: ClientStats,
        log: BoundLogger,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        cache: TokenCache | None = None,
    ) -> None:
        if not (auth.client_id and auth.client_secret and auth.token_url):
            raise ValueError("TokenProvider needs openchoreo.auth.clientId, clientSecret and tokenUrl")
        self._client_id = auth.client_id
        self._secret: SecretStr = auth.client_secret
        self._token_url = auth.token_url
        self._scope = normalise_scope(auth.scope)
        self._http = http
        self._retry = retry
        self._stats = stats
        self._log = log
        self._clock = clock
        self._sleep = sleep
        self._cache = cache if cache is not None else TokenCache()
        self._inflight: asyncio.Future[SecretStr] | None = None

    @property
    def token_url(self) -> str:
        return display_url(self._token_url)

    def __repr__(self) -> str:
        state = "cached" if self._cache.token is not None else "empty"
        return f"TokenProvider(token_url={self.token_url!r}, client_id={self._client_id!r}, token={state})"

    async def token(self) -> SecretStr:
        """A valid token; concurrent callers during a fetch all wait for that one fetch."""
        cached = self._cache.token
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        if self._inflight is None:
            task = asyncio.ensure_future(self._fetch())
            task.add_done_callback(self._settled)
            self._inflight = task
        return await asyncio.shield(self._inflight)

    def invalidate(self, rejected: SecretStr) -> None:
        """Forget ``rejected`` if it is still the cached token (the API said INVALID_TOKEN).

        Comparing first means many requests failing with the same old token cause one refetch.
        """
        cached = self._cache.token
        if cached is not None and secrets.compare_digest(cached.value.get_secret_value(), rejected.get_secret_value()):
            self._cache.token = None

    def close(self) -> None:
        if self._inflight is not None:
            self._inflight.cancel()

    def _settled(self, task: asyncio.Future[SecretStr]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved: every waiter gets it through the shield

    def _form(self) -> dict[str, str]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        if self._scope:
            form["scope"] = self._scope
        return form

    async def _fetch(self) -> SecretStr:
        attempt = 0
        while True:
            attempt += 1
            self._stats.token_requests += 1
            try:
                response = await self._http.post(
                    self._token_url, data=self._form(), headers={"Accept": "application/json"}
                )
            except httpx.TransportError as exc:
                if attempt <= self._retry.retries:
                    await self._backoff(attempt, None, type(exc).__name__)
                    continue
                raise TokenError(
                    token_url=self.token_url,
                    message=f"could not reach the token endpoint ({type(exc).__name__}: {exc})",
                ) from None
            if response.status_code in RETRY_STATUSES and attempt <= self._retry.retries:
                retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
                await self._backoff(attempt, retry_after, f"HTTP {response.status_code}")
                continue
            token = self._read(response)
            self._cache.token = token
            return token.value

    async def _backoff(self, attempt: int, retry_after: float | None, reason: str) -> None:
        delay = self._retry.delay(attempt, retry_after)
        self._log.debug("token request retry", token_url=self.token_url, attempt=attempt, reason=reason, delay_s=delay)
        await self._sleep(delay)

    def _read(self, response: httpx.Response) -> _Token:
        status = response.status_code
        data: Any = None
        try:
            data = response.json()
        except ValueError:
            data = None
        if status >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            description = data.get("error_description") if isinstance(data, dict) else None
            raise TokenError(
                token_url=self.token_url,
                status=status,
                error=error if isinstance(error, str) else None,
                error_description=description if isinstance(description, str) else None,
                message=shorten(response.text) or "no response body",
            )
        access = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access:
            raise TokenError(
                token_url=self.token_url,
                status=status,
                message="the response has no access_token (expected RFC 6749 JSON)",
            )
        register_issued_token(access)
        now = self._clock()
        exp = jwt_expiry(access)
        expires_in = data.get("expires_in")
        if exp is not None:
            lifetime = exp - now
        elif isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            lifetime = float(expires_in)
        else:
            lifetime = DEFAULT_LIFETIME
        self._log.info("token fetched", token_url=self.token_url, lifetime_s=round(lifetime))
        return _Token(SecretStr(access), now + usable_lifetime(lifetime))
