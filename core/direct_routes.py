"""Bodiless GETs to replica-safe read routes, answered without the full middleware stack.

A by-name request through Starlette passes ten ASGI layers (the server-error and exception
middleware, error containment, body bounds, the router, the token check, the request-response
wrapper, each wrapping ``send`` again) before its handler runs; on this 2-core machine that was a
fifth of a reader process's CPU per request. A GET without a body needs none of the body bounds,
and the rest can be done in one place: find the route as the router would (the first full match
in route order wins, so a route listed earlier still takes precedence), check the token, call the
endpoint, contain its errors. Only replica-safe routes with async endpoints go this way (they read
the committed catalog and nothing else); anything else, and any request with a body, takes the
ordinary path. The answers are the same bytes either way: ``tests/core/test_direct_routes.py``
compares them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Scope], Response | None]
"""The route's token check: the refusal to send, or None to go on."""


class DirectRoute:
    """One route served directly: its endpoint, its token check."""

    __slots__ = ("endpoint", "guard")

    def __init__(self, route: Route, guard: Guard | None) -> None:
        self.endpoint: Endpoint = route.endpoint
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.guard(scope) if self.guard is not None else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(request)
        except HTTPException as exc:
            response = await _answer_http_exception(request, exc)
        await response(scope, receive, send)


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("only the middleware's HTTPException handler is used")


_answer_http_exception = ExceptionMiddleware(_no_app).http_exception
"""Starlette's own answer to an ``HTTPException`` (the app registers no handlers of its own)."""


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.strip() != b"0":
                return True
        elif name == b"transfer-encoding":
            return True
    return False


class DirectRoutes:
    """Which routes may answer directly, and which one answers a request."""

    def __init__(self, direct: dict[int, DirectRoute]) -> None:
        self._direct = direct

    @classmethod
    def of(
        cls,
        routes: Sequence[BaseRoute],
        eligible: Callable[[BaseRoute], bool],
        guard_of: Callable[[Route], Guard | None],
    ) -> DirectRoutes:
        direct = {
            id(route): DirectRoute(route, guard_of(route))
            for route in routes
            if isinstance(route, Route)
            and "GET" in (route.methods or ())
            and inspect.iscoroutinefunction(route.endpoint)
            and eligible(route)
        }
        return cls(direct)

    def __bool__(self) -> bool:
        return bool(self._direct)

    def match(self, scope: Scope, routes: Sequence[BaseRoute]) -> DirectRoute | None:
        """The direct route for this request among the router's ``routes``, with its path
        parameters set in ``scope``; None when the request must take the ordinary path (it has a
        body, or the first route that matches it is not a direct one)."""
        if scope["type"] != "http" or scope["method"] != "GET" or _has_body(scope):
            return None
        for route in routes:
            matched, child = route.matches(scope)
            if matched is Match.FULL:
                direct = self._direct.get(id(route))
                if direct is not None:
                    scope["route"] = route
                    scope.update(child)
                return direct
        return None
