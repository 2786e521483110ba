"""The daemon's HTTP server: liveness/readiness plus every route plugins contribute.

Routes are protected by ``openchoreo.server.token`` (a static bearer token, like Backstage's
``externalAccess``) unless a plugin marks them public with :func:`public` (for example YAML that a
Backstage UrlReader must read without credentials). Tokens are compared in constant time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .direct_routes import DirectRoutes
from .errors import PluginError, StoreError, SyncError
from .http_bounds import BodyTimeout, BodyTooLarge, BoundedBody, bounded_protocol, connection_limit
from .logs import redact_text

PUBLIC_ATTR = "openchoreo_sync_public"

SHUTTING_DOWN = "openchoreo_sync_shutting_down"
"""Set to True on ``request.app.state`` when the server stops: a handler that waits (a long poll)
checks it and answers at once instead of being cancelled."""


REPLICA_SAFE_ATTR = "openchoreo_sync_replica_safe"


def public(route: BaseRoute) -> BaseRoute:
    """Mark a route as readable without the server token."""
    setattr(route, PUBLIC_ATTR, True)
    return route


def replica_safe(route: BaseRoute) -> BaseRoute:
    """Mark a route as answerable by a reader process (``openchoreo.server.readProcesses``).

    Such a route reads only the committed catalog (``ctx.catalog`` / ``ctx.sync_status``) and
    keeps no state that the daemon's own process must see: a reader process builds the plugin's
    routes against a read-only store of its own and serves the marked ones itself; every other
    route is forwarded to the daemon's process.
    """
    setattr(route, REPLICA_SAFE_ATTR, True)
    return route


def is_replica_safe(route: BaseRoute) -> bool:
    return bool(getattr(route, REPLICA_SAFE_ATTR, False))


def backstage_error(status: int, name: str, message: str, request: Request | None = None) -> JSONResponse:
    """An error body in Backstage's shape: ``{error: {name, message}, request, response}``."""
    body: dict[str, Any] = {"error": {"name": name, "message": message}, "response": {"statusCode": status}}
    if request is not None:
        body["request"] = {"method": request.method, "url": str(request.url.path)}
    return JSONResponse(body, status_code=status)


def token_matches(header: str | None, expected: str) -> bool:
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), expected.encode())


class RequireToken:
    """ASGI wrapper answering 401 in Backstage's shape unless the bearer token matches."""

    def __init__(self, app: ASGIApp, token: Callable[[], str | None], extra: Callable[[], str | None] | None = None):
        self.app = app
        self.token = token
        self.extra = extra

    def refusal(self, scope: Scope) -> Response | None:
        """The 401 to answer, or None when the request may go on."""
        expected = self.token()
        if scope["type"] == "http" and expected:
            request = Request(scope)
            header = request.headers.get("authorization")
            alternative = self.extra() if self.extra else None
            if not (token_matches(header, expected) or (alternative and token_matches(header, alternative))):
                message = "Missing credentials" if not header else "Invalid credentials"
                return backstage_error(401, "AuthenticationError", message, request)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def protect(routes: Sequence[BaseRoute], token: Callable[[], str | None]) -> list[BaseRoute]:
    out = []
    for route in routes:
        if not getattr(route, PUBLIC_ATTR, False) and isinstance(route, (Route, Mount)):
            extra = getattr(route, "openchoreo_sync_extra_token", None)
            route.app = RequireToken(route.app, token, extra)
        out.append(route)
    return out


def _paths(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, str]]:
    for route in routes:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or {"*"}):
            yield method, path


_log = structlog.get_logger("openchoreo_sync.server")


class ContainErrors:
    """ASGI middleware: whatever a route raises is answered in Backstage's JSON error shape.

    A state store that cannot be read (a lost database) is a 503 the client may retry; a body that
    is too slow or too large is 408 / 413; anything else is a 500 naming the error class only (no
    traceback, nothing from the error text that could carry a secret reaches the client).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            status, name, message = _classify(exc)
            _log.log(
                40 if status >= 500 else 20,
                "request failed",
                path=scope.get("path"),
                status=status,
                error=redact_text(f"{type(exc).__name__}: {exc}"),
            )
            if started:  # the response is under way: all that can be done is to end the connection
                return
            request = Request(scope)
            await backstage_error(status, name, message, request)(scope, receive, send)


def _classify(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, StoreError):
        return 503, "ServiceUnavailableError", f"the catalog's state store is unavailable: {redact_text(str(exc))}"
    if isinstance(exc, BodyTimeout):
        return 408, "RequestTimeoutError", str(exc)
    if isinstance(exc, BodyTooLarge):
        return 413, "PayloadTooLargeError", str(exc)
    if isinstance(exc, RecursionError):
        return 400, "InputError", "the request is nested too deeply"
    return 500, "Error", f"internal error ({type(exc).__name__}); see the daemon's log"


def build_app(
    plugin_routes: Sequence[tuple[str, Sequence[BaseRoute]]],
    *,
    token: Callable[[], str | None],
    ready: Callable[[], bool],
    health: Callable[[], Awaitable[dict[str, str]]] | None = None,
    body_timeout: float = 30.0,
    max_body_bytes: int = 1024 * 1024,
    fallback: ASGIApp | None = None,
) -> Starlette:
    """Compose the app; two plugins serving the same method and path is a start-up error.

    ``/readyz`` answers JSON ``{status, degraded}``: 200 while a snapshot is served (even with
    runs failing: ``degraded`` says what and why), 503 before the first snapshot or while the
    store cannot be read.

    With ``fallback`` (a reader process) the probes are not served here: every request no route
    matches, ``/healthz`` and ``/readyz`` included, goes to ``fallback`` (which forwards it to the
    daemon's process: its health is the daemon's).
    """

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        degraded = await health() if health is not None else {}
        if not ready():
            body = {"status": "not ready", "reason": "no snapshot loaded or synced yet", "degraded": degraded}
            return JSONResponse(body, status_code=503)
        if "store_reads" in degraded:
            body = {"status": "not ready", "reason": "the state store cannot be read", "degraded": degraded}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "degraded" if degraded else "ready", "degraded": degraded})

    routes: list[BaseRoute] = [] if fallback is not None else [Route("/healthz", healthz), Route("/readyz", readyz)]
    owners: dict[tuple[str, str], str] = {key: "core" for key in _paths(routes)}
    for plugin, contributed in plugin_routes:
        for key in _paths(contributed):
            if key in owners:
                raise PluginError(f"plugins {owners[key]!r} and {plugin!r} both serve {key[0]} {key[1]}")
            owners[key] = plugin
        routes.extend(protect(contributed, token))
    if fallback is not None:
        routes.append(Mount("", app=fallback))
    middleware = [
        Middleware(ContainErrors),
        Middleware(BoundedBody, timeout=body_timeout, max_bytes=max_body_bytes),
    ]
    direct = DirectRoutes.of(routes, is_replica_safe, _guard_of)
    return _App(direct, routes=routes, middleware=middleware)


def _guard_of(route: Route) -> Callable[[Scope], Response | None] | None:
    return route.app.refusal if isinstance(route.app, RequireToken) else None


class _App(Starlette):
    """Starlette, but a bodiless GET to a replica-safe read route skips the middleware stack
    (:mod:`openchoreo_sync.direct_routes`): same answer, a fifth less CPU per request."""

    def __init__(self, direct: DirectRoutes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct = direct

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._direct.match(scope, self.router.routes) if self._direct else None
        if route is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        scope["router"] = self.router
        await ContainErrors(route)(scope, receive, send)


class _QuietServer(uvicorn.Server):
    """Uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServerStartError(SyncError):
    """The daemon's HTTP server cannot listen where the config says."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listen_error(host: str, port: int, exc: OSError) -> ServerStartError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    hint = (
        "stop whatever uses it, or set openchoreo.server.port (0 picks a free port)"
        if exc.errno == errno.EADDRINUSE
        else "check openchoreo.server.host"
    )
    return ServerStartError(f"cannot listen on {host}:{port}: {reason.lower()}; {hint}")


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A bound, listening TCP socket that several processes can accept on (reader processes)."""
    try:
        return socket.create_server((host, port), family=_family(host), backlog=backlog)
    except OSError as exc:
        raise _listen_error(host, port, exc) from None


class HttpServer:
    """Runs the app on the current event loop until ``stop()``."""

    def __init__(
        self,
        app: Starlette,
        host: str,
        port: int,
        *,
        header_timeout: float = 10.0,
        max_connections: int | None = None,
        sock: socket.socket | None = None,
        uds: str | None = None,
        fast: bool = False,
    ) -> None:
        """``sock``: serve on this listening socket (a reader process); ``uds``: on a unix socket
        at that path instead of ``host:port`` (the daemon's private socket for its readers);
        ``fast``: the C HTTP parser (see :func:`bounded_protocol`)."""
        self.max_connections = connection_limit(max_connections)
        # Requests still open 1 s into a shutdown are cancelled: a long poll (the change feed holds
        # one for up to a minute) must not hold the daemon's stop, which gives the server 5 s.
        # Long polls end on their own before that when they watch ``app.state`` (see ``stop``).
        self._app = app
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            uds=uds,
            http=bounded_protocol(header_timeout, self.max_connections, fast=fast),
            timeout_keep_alive=5,
            timeout_graceful_shutdown=1,
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self._sock = sock
        self.host = host
        self.public: tuple[str, int] | None = None
        """Where clients reach this app when that is not where it listens (readers own the port)."""

    def _check_port(self) -> None:
        """Try the address before uvicorn does: its bind failure is a SystemExit and a traceback.

        The probe socket is closed at once (with SO_REUSEADDR, as uvicorn binds); uvicorn still
        binds its own socket, which serves requests faster than one handed to it.
        """
        port = self._server.config.port
        if port == 0 or self._sock is not None or self._server.config.uds:
            return
        try:
            with socket.socket(_family(self.host), socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((self.host, port))
        except OSError as exc:
            raise _listen_error(self.host, port, exc) from None

    async def start(self) -> None:
        self._check_port()
        sockets = [self._sock] if self._sock is not None else None
        self._task = asyncio.create_task(self._server.serve(sockets=sockets))
        deadline = asyncio.get_running_loop().time() + 30
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"the HTTP server could not start on {self.host}")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the HTTP server did not start on {self.host} within 30 s")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        if self.public is not None:
            return self.public[1]
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        setattr(self._app.state, SHUTTING_DOWN, True)
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
