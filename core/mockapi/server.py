"""The mock OpenChoreo Platform API as a Starlette ASGI app.

Routes, status codes and bodies follow the real server (openchoreo-api.md), including
where it departs from its OpenAPI spec: text/plain 400 for a non-integer ``limit`` before
authentication, 500 for bad or expired cursors, ``{"error","message"}`` 401 bodies, empty
200 lists for unknown namespaces, and Go's text/plain ``404 page not found``.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from . import responses as r
from .auth import TokenRequestError
from .control import control_routes
from .faultlayer import FaultLayer
from .kinds import CONTROL_PLANE_LABEL, KINDS, KindInfo
from .labels import SelectorError, parse_selector
from .pagination import CursorError, LimitError, decode_cursor, encode_cursor, paginate, parse_limit
from .scaffolder import SCHEMA_COLLECTIONS, TEMPLATES_PATH, SchemaUnavailable, parameter_schema
from .state import MockState
from .thunder import thunder_routes
from .world import CursorExpired, Obj

PAGE_CACHE = 4096
"""Rendered list pages kept (least recently asked for go first): every page of a 50k world."""

_AUTH_MESSAGES = {
    "MISSING_TOKEN": r.MISSING_TOKEN[1],
    "INVALID_TOKEN": r.INVALID_TOKEN[1],
    "INVALID_CLAIMS": "token claims validation failed",
}


@cache
def _spec_json() -> bytes:
    text = resources.files("openchoreo_sync.mockapi").joinpath("openchoreo-api.yaml").read_text()
    return json.dumps(yaml.safe_load(text)).encode()


class Api:
    """Request handlers bound to one :class:`MockState`."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self._pages: OrderedDict[tuple[Any, ...], tuple[Any, bytes, str | None]] = OrderedDict()
        """Rendered list pages: a page is a function of the snapshot it lists and the query, and a
        snapshot never changes, so the same request gets the same bytes without paginating and
        encoding again (a no-change sync asks for every page again). A page is used only for the
        very snapshot object it was made from: a world that is reset (or a test that swaps a
        snapshot in) may reuse a resource version for other content."""

    # -- public routes ---------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return PlainTextResponse("OK")

    async def ready(self, request: Request) -> Response:
        return PlainTextResponse("Ready")

    async def version(self, request: Request) -> Response:
        return r.json_response(
            {
                "name": "openchoreo-api",
                "version": self.state.version,
                "gitRevision": "0000000",
                "buildTime": "2025-01-06T10:00:00Z",
                "goOS": "linux",
                "goArch": "amd64",
                "goVersion": "go1.24.2",
            }
        )

    async def openapi(self, request: Request) -> Response:
        return Response(_spec_json(), media_type="application/json")

    async def protected_resource(self, request: Request) -> Response:
        auth = self.state.auth
        return r.json_response(
            {
                "resource_name": "OpenChoreo API",
                "resource": self.state.base_url,
                "authorization_servers": [auth.issuer],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["openid", "profile", "email"],
                "openchoreo_clients": [{"name": "cli", "client_id": "openchoreo-cli", "scopes": ["openid"]}],
                "openchoreo_security_enabled": auth.enabled,
            }
        )

    async def token(self, request: Request) -> Response:
        # Parsed by hand: Starlette's request.form() needs python-multipart, not a dependency.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        basic = _basic_auth(request.headers.get("authorization"))
        try:
            body = self.state.auth.issue(form, basic, form.get("scope"))
        except TokenRequestError as exc:
            return r.json_response({"error": exc.error, "error_description": exc.description}, exc.status)
        return r.json_response(body, headers={"Cache-Control": "no-store"})

    # -- API routes ------------------------------------------------------------------
    def _auth(self, request: Request) -> Response | None:
        if not self.state.auth.enabled:
            return None
        code = self.state.auth.check(request.headers.get("authorization"))
        return r.auth_error(code, _AUTH_MESSAGES[code]) if code else None

    async def list_namespaces(self, request: Request) -> Response:
        return self._list(request, KINDS["namespaces"], "")

    async def get_namespace(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        name = request.path_params["ns"]
        obj = self.state.world.snapshot("namespaces", "").items.get(name)
        if obj is None or (obj["metadata"].get("labels") or {}).get(CONTROL_PLANE_LABEL) != "true":
            return r.not_found("Namespace")
        return r.json_response(obj)

    async def list_namespaced(self, request: Request) -> Response:
        info = KINDS.get(request.path_params["collection"])
        if info is None or info.scope != "namespace":
            return r.page_not_found()
        return self._list(request, info, request.path_params["ns"])

    async def get_namespaced(self, request: Request) -> Response:
        info = KINDS.get(request.path_params["collection"])
        if info is None or info.scope != "namespace":
            return r.page_not_found()
        return self._get(request, info, request.path_params["ns"])

    async def list_cluster(self, request: Request) -> Response:
        info = KINDS.get(request.path_params["collection"])
        if info is None or info.scope != "cluster":
            return r.page_not_found()
        return self._list(request, info, "")

    async def get_cluster(self, request: Request) -> Response:
        info = KINDS.get(request.path_params["collection"])
        if info is None or info.scope != "cluster":
            return r.page_not_found()
        return self._get(request, info, "")

    async def namespaced_schema(self, request: Request) -> Response:
        info = KINDS.get(request.path_params["collection"])
        if info is None or info.scope != "namespace" or info.collection not in SCHEMA_COLLECTIONS:
            return r.page_not_found()
        return self._schema(request, info, request.path_params["ns"])

    async def cluster_schema(self, request: Request) -> Response:
        info = KINDS.get(request.path_params["collection"])
        if info is None or info.scope != "cluster" or info.collection not in SCHEMA_COLLECTIONS:
            return r.page_not_found()
        return self._schema(request, info, "")

    def _schema(self, request: Request, info: KindInfo, ns: str) -> Response:
        if denied := self._auth(request):
            return denied
        obj = self.state.world.snapshot(info.collection, ns).items.get(request.path_params["name"])
        if obj is None:
            return r.not_found(info.kind)
        try:
            return r.json_response(parameter_schema(obj))
        except SchemaUnavailable:
            return r.internal_error()

    async def scaffolder_template(self, request: Request) -> Response:
        """A hand-written template file, as any static host would serve it (not part of OpenChoreo)."""
        text = self.state.templates.get(request.path_params["name"])
        if text is None:
            return r.page_not_found()
        return Response(text.encode(), media_type="application/yaml")

    def _get(self, request: Request, info: KindInfo, ns: str) -> Response:
        if denied := self._auth(request):
            return denied
        obj = self.state.world.snapshot(info.collection, ns).items.get(request.path_params["name"])
        return r.json_response(obj) if obj is not None else r.not_found(info.kind)

    def _list(self, request: Request, info: KindInfo, ns: str) -> Response:
        q = request.query_params
        try:
            limit = parse_limit(q.get("limit"))
        except LimitError as exc:
            return r.text_error(str(exc), 400)
        if denied := self._auth(request):
            return denied
        try:
            selector = parse_selector(q.get("labelSelector"))
        except SelectorError as exc:
            return r.api_error("BAD_REQUEST", f"invalid label selector: {exc}", 400)
        world = self.state.world
        if info.collection == "namespaces":
            user = selector

            def selector(labels: Any) -> bool:
                return labels.get(CONTROL_PLANE_LABEL) == "true" and (user is None or user(labels))

        predicate = None
        value = q.get(info.filter_param) if info.filter_param else None
        if value:
            if info.filter_param == "project":
                if value not in world.snapshot("projects", ns).items:
                    return r.api_error("NOT_FOUND", "Project not found", 404)

                def predicate(o: Obj) -> bool:
                    return bool(o["spec"]["owner"].get("projectName") == value)
            else:

                def predicate(o: Obj) -> bool:
                    return bool(o["spec"]["owner"].get("componentName") == value)

        wrapped = predicate is not None
        cursor = q.get("cursor") or None
        try:
            pos = decode_cursor(cursor, wrapped)
            self._check_cursor_age(request, cursor)
            rv = pos.rv if pos.rv is not None else world.resource_version
            snap = world.snapshot(info.collection, ns, rv)
        except (CursorError, CursorExpired):
            return r.internal_error()
        fault = request.scope.get("mock.fault")
        key: tuple[Any, ...] | None = None
        if fault is None:
            key = (info.collection, ns, rv, cursor, limit, q.get("labelSelector"), value)
        cached = self._pages.get(key) if key is not None else None
        if key is not None and cached is not None and cached[0] is snap:
            self._pages.move_to_end(key)
            _, body, next_cursor = cached
        else:
            items, nxt = paginate(snap, rv, pos, limit, selector, predicate)
            next_cursor = encode_cursor(nxt.rv, nxt.start, nxt.skip, wrapped) if nxt else None
            if fault is not None and fault.action == "cursor_loop":
                next_cursor = cursor or encode_cursor(None, "", 0, wrapped)
            pagination: dict[str, str] = {"nextCursor": next_cursor} if next_cursor else {}
            body = r.go_json({"items": items, "pagination": pagination})
            if key is not None:
                self._pages[key] = (snap, body, next_cursor)
                if len(self._pages) > PAGE_CACHE:
                    self._pages.popitem(last=False)
        if next_cursor:
            page = request.scope.get("mock.page", 1) or 1
            self.state.stats.remember_cursor(next_cursor, request.scope.get("mock.seq", 0), page + 1)
        return Response(body, status_code=200, media_type="application/json")

    def _check_cursor_age(self, request: Request, cursor: str | None) -> None:
        max_age = self.state.faults.cursor_max_age
        if cursor is None or max_age is None:
            return
        info = self.state.stats.cursor_info(cursor)
        if info is None or request.scope.get("mock.seq", 0) - info[0] > max_age:
            raise CursorExpired(0)


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return r.method_not_allowed()
    return r.page_not_found()


def create_app(state: MockState) -> ASGIApp:
    """The full ASGI app: fault layer in front of the Starlette router."""
    api = Api(state)
    get = ["GET"]
    routes = [
        Route("/health", api.health, methods=get),
        Route("/ready", api.ready, methods=get),
        Route("/version", api.version, methods=get),
        Route("/openapi.json", api.openapi, methods=get),
        Route("/.well-known/oauth-protected-resource", api.protected_resource, methods=get),
        Route("/oauth2/token", api.token, methods=["POST"]),
        Route("/api/v1/namespaces", api.list_namespaces, methods=get),
        Route("/api/v1/namespaces/{ns}", api.get_namespace, methods=get),
        Route("/api/v1/namespaces/{ns}/{collection}", api.list_namespaced, methods=get),
        Route("/api/v1/namespaces/{ns}/{collection}/{name}", api.get_namespaced, methods=get),
        Route("/api/v1/namespaces/{ns}/{collection}/{name}/schema", api.namespaced_schema, methods=get),
        Route("/api/v1/{collection}", api.list_cluster, methods=get),
        Route("/api/v1/{collection}/{name}", api.get_cluster, methods=get),
        Route("/api/v1/{collection}/{name}/schema", api.cluster_schema, methods=get),
        Route(TEMPLATES_PATH + "/{name}", api.scaffolder_template, methods=get),
        *thunder_routes(state),
        *control_routes(state),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.router.redirect_slashes = False
    return FaultLayer(app, state)
