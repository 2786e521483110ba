"""The pages' routes on the daemon's server: catalog, entity, sync, sign-in and local assets.

Handlers parse the request, read in a worker thread (the store is synchronous and must not block
the engine's event loop) and render a Jinja template; assets come from this package, so the pages
work offline, and a Content-Security-Policy forbids loading anything from elsewhere.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from openchoreo_sync.kit import SyncContext, make_ref
from openchoreo_sync.kit.http import public

from .access import COOKIE, authorized, safe_next, server_token, submitted_token
from .cache import SnapshotCache
from .catalog_view import CatalogQuery, Matched, catalog_page, warm
from .entity_view import entity_page
from .settings import WebUiSettings
from .sync_view import sync_page

PACKAGE = __name__.rsplit(".", 1)[0]
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[Request], Awaitable[Response]]


def _environment() -> Environment:
    env = Environment(loader=PackageLoader(PACKAGE, "templates"), autoescape=select_autoescape(["html"]))
    env.filters["seconds"] = lambda value: "-" if value is None else f"{value:.2f} s"
    return env


class Pages:
    def __init__(self, ctx: SyncContext, settings: WebUiSettings) -> None:
        if ctx.catalog is None:
            raise RuntimeError("the web UI shows the committed snapshot, but this process opened no store")
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.settings = settings
        self.base = settings.base_path
        self.env = _environment()
        self.cache: SnapshotCache[Matched] = SnapshotCache()
        self.warming: set[asyncio.Task[None]] = set()

    def warm(self) -> None:
        """Precompute the unfiltered catalog page of the committed snapshot (in a worker thread)."""
        warm(self.catalog, self.cache)

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(base=self.base, **values)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    def guarded(self, handler: Handler) -> Handler:
        """Ask for the server token (once per browser) when one is configured."""

        async def wrapped(request: Request) -> Response:
            if not authorized(request, server_token(self.ctx)):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return self.render("login.html", 401, next=target, failed=False, page="login")
            return await handler(request)

        return wrapped

    async def catalog_view(self, request: Request) -> Response:
        query = CatalogQuery.parse(request.query_params.multi_items())
        page = await run_in_threadpool(
            catalog_page,
            self.catalog,
            query,
            base_path=self.base,
            page_size=self.settings.page_size,
            cache=self.cache,
        )
        return self.render("catalog.html", data=page, query=query, page="catalog")

    async def entity_view(self, request: Request) -> Response:
        params = request.path_params
        ref = make_ref(params["kind"], params["namespace"], params["name"])
        depth = 2 if request.query_params.get("depth") == "2" else 1
        data = await run_in_threadpool(
            entity_page,
            self.catalog,
            self.ctx.sync_status,
            ref,
            depth=depth,
            max_nodes=self.settings.graph_max_nodes,
            base_path=self.base,
        )
        if data is None:
            return self.render("missing.html", 404, ref=ref, page="entity")
        return self.render("entity.html", data=data, page="entity")

    async def sync_view(self, request: Request) -> Response:
        status = self.ctx.sync_status
        if status is None:
            return self.render("missing.html", 503, ref=None, page="sync")
        data = await run_in_threadpool(
            sync_page,
            status,
            self.catalog,
            self.ctx.event_queue,
            runs_shown=self.settings.runs_shown,
            grace_runs=self.ctx.config.openchoreo.safety.deletion_grace_runs,
            base_path=self.base,
        )
        return self.render("sync.html", data=data, page="sync")

    async def login(self, request: Request) -> Response:
        expected = server_token(self.ctx)
        target = safe_next(request.query_params.get("next", self.base), self.base)
        if request.method == "GET":
            return self.render("login.html", next=target, failed=False, page="login")
        given = await submitted_token(request)
        if expected and not hmac.compare_digest(given.encode(), expected.encode()):
            return self.render("login.html", 401, next=target, failed=True, page="login")
        response = RedirectResponse(target, status_code=303)
        if expected:
            response.set_cookie(COOKIE, given, httponly=True, samesite="strict", path=self.base)
        return response

    def routes(self) -> list[BaseRoute]:
        base = self.base
        return [
            public(Route(base, self.guarded(self.catalog_view), methods=["GET"])),
            public(Route(f"{base}/entity/{{kind}}/{{namespace}}/{{name}}", self.guarded(self.entity_view))),
            public(Route(f"{base}/sync", self.guarded(self.sync_view), methods=["GET"])),
            public(Route(f"{base}/login", self.login, methods=["GET", "POST"])),
            public(Mount(f"{base}/static", StaticFiles(packages=[(PACKAGE, "static")]), name="web_ui_static")),
        ]
