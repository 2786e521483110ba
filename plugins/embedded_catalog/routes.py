"""Starlette routes of the catalog read API, mounted on the daemon's HTTP server.

Handlers only parse the request and format the answer; each query runs in a worker thread (the
store is synchronous and must not block the event loop the engine runs on) inside
:func:`view.consistent`, so one response always reflects one committed snapshot.

The worker threads are a pool of their own, bounded at ``READERS``: on a small machine more
concurrent readers only contend for the interpreter lock (and each holds a store connection),
while the default pool would run up to 40 of them at once, next to the sync on the same loop.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openchoreo_sync.kit import CatalogReader
from openchoreo_sync.kit.http import backstage_error, replica_safe

from . import cursor
from .cursor import QueryState
from .errors import CatalogError, InputError
from .facets import FacetCache
from .listing import ListQuery, list_entities
from .lookup import by_name, by_refs, by_uid
from .params import (
    encode_after,
    parse_facets,
    parse_fields,
    parse_filters,
    parse_int,
    parse_order,
    parse_order_fields,
    parse_page,
    parse_text_fields,
)
from .querying import DEFAULT_LIMIT, ByQuery, query_entities
from .snapshot_cache import SnapshotCache
from .view import consistent

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
JSON = "application/json; charset=utf-8"
READERS = 4
"""Read queries running at once; more requests wait for a free reader (they queue, not fail)."""
BODY_ERROR = "Malformed request body (did you remember to specify an application/json content type?), "


def _json(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, media_type=JSON, headers=headers)


def _catching(handler: Handler) -> Handler:
    """Answer :class:`CatalogError` in Backstage's error shape instead of a 500."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except CatalogError as exc:
            error: Response = backstage_error(exc.status, exc.name, exc.message, request)
            return error

    return wrapped


def _next_link(request: Request, limit: int, offset: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "after")]
    params.append(("after", encode_after(limit, offset)))
    return f'<{request.url.path}?{urlencode(params)}>; rel="next"'


def _by_query_request(request: Request) -> ByQuery:
    q = request.query_params
    fields = parse_fields(q.getlist("fields"))
    limit = parse_int(q.get("limit"), "limit")
    if limit is not None and limit < 0:
        raise InputError("Invalid limit, must be zero or greater")
    offset = parse_int(q.get("offset"), "offset")
    if offset is not None and offset < 0:
        raise InputError("Invalid offset, must be zero or greater")
    raw_cursor = q.get("cursor")
    if raw_cursor:
        state = cursor.decode(raw_cursor)
        return ByQuery(state, fields, DEFAULT_LIMIT if limit is None else limit)
    total_mode = q.get("totalItems", "include")
    if total_mode not in ("include", "exclude"):
        raise InputError(f'Invalid totalItems parameter "{total_mode}", expected one of: include, exclude')
    order = parse_order_fields(q.getlist("orderField"))
    state = QueryState(
        filter=parse_filters(q.getlist("filter")),
        order=order[0] if order else None,
        term=q.get("fullTextFilterTerm", ""),
        text_fields=parse_text_fields(q.getlist("fullTextFilterFields")),
        count_total=total_mode == "include",
    )
    return ByQuery(state, fields, DEFAULT_LIMIT if limit is None else limit, offset or 0)


def _refs_body(raw: bytes) -> tuple[list[str], list[str]]:
    try:
        body: Any = json.loads(raw or b"null")
    except ValueError as exc:
        raise InputError(f"{BODY_ERROR}{exc}") from None
    if not isinstance(body, dict):
        raise InputError(f"{BODY_ERROR}Expected object, received {type(body).__name__}")
    refs, fields = body.get("entityRefs"), body.get("fields", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InputError(f'{BODY_ERROR}Validation error: "entityRefs" must be an array of strings')
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise InputError(f'{BODY_ERROR}Validation error: "fields" must be an array of strings')
    if body.get("query") is not None:
        raise InputError("Filter predicates in the by-refs body (query) are not supported by this catalog")
    return refs, fields


def catalog_routes(store: CatalogReader, base_path: str = "/api/catalog", *, inline: bool = False) -> list[BaseRoute]:
    """The read API's routes under ``base_path``; ``inline``: queries run on the event loop itself
    (a reader process, where no sync shares the loop) instead of the bounded reader pool."""

    facet_cache = FacetCache()
    results = SnapshotCache()
    limiter: list[CapacityLimiter] = []  # made on first use, inside the serving event loop

    async def read(compute: Callable[[], T], *, whole: bool = False) -> T:
        """``compute()`` on one snapshot; ``whole``: it is one statement or checks that itself."""
        task = compute if whole else functools.partial(consistent, store, compute)
        if inline:
            return task()
        if not limiter:
            limiter.append(CapacityLimiter(READERS))
        return await anyio.to_thread.run_sync(task, limiter=limiter[0])

    async def entities(request: Request) -> Response:
        q = request.query_params
        query = ListQuery(
            filter=parse_filters(q.getlist("filter")),
            fields=parse_fields(q.getlist("fields")),
            order=parse_order(q.getlist("order")),
            page=parse_page(q.get("limit"), q.get("offset"), q.get("after")),
        )
        result = await read(lambda: list_entities(store, query, results))
        headers = {"link": _next_link(request, *result.next_page)} if result.next_page else None
        return _json(result.body, headers)

    async def by_query(request: Request) -> Response:
        query = _by_query_request(request)
        return _json(await read(lambda: query_entities(store, query, results)))

    async def entity_by_name(request: Request) -> Response:
        kind, namespace, name = (request.path_params[k] for k in ("kind", "namespace", "name"))
        # one SELECT: a snapshot of its own, so no version check around it
        return _json(await read(lambda: by_name(store, kind, namespace, name), whole=True))

    async def entity_by_uid(request: Request) -> Response:
        uid = request.path_params["uid"]
        return _json(await read(lambda: by_uid(store, uid)))

    async def entities_by_refs(request: Request) -> Response:
        refs, body_fields = _refs_body(await request.body())
        fields = parse_fields(request.query_params.getlist("fields"), body_fields)
        alternatives = parse_filters(request.query_params.getlist("filter"))
        return _json(await read(lambda: by_refs(store, refs, fields, alternatives)))

    async def facets(request: Request) -> Response:
        q = request.query_params
        keys, alternatives = parse_facets(q.getlist("facet")), parse_filters(q.getlist("filter"))
        return _json(await read(lambda: facet_cache.answer(store, keys, alternatives), whole=True))

    base = base_path.rstrip("/")
    routes = [
        Route(f"{base}/entities", _catching(entities), methods=["GET"]),
        Route(f"{base}/entities/by-query", _catching(by_query), methods=["GET"]),
        Route(
            f"{base}/entities/by-name/{{kind}}/{{namespace}}/{{name}}",
            _catching(entity_by_name),
            methods=["GET"],
        ),
        Route(f"{base}/entities/by-uid/{{uid}}", _catching(entity_by_uid), methods=["GET"]),
        Route(f"{base}/entities/by-refs", _catching(entities_by_refs), methods=["POST"]),
        Route(f"{base}/entity-facets", _catching(facets), methods=["GET"]),
    ]
    # Each reads the committed snapshot only (its caches are per snapshot version), so a reader
    # process may answer it from a store of its own.
    return [replica_safe(route) for route in routes]
