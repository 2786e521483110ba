"""Walks every page of one collection, with the API's cursor rules (reference section 4).

* ``limit=100`` (the server's maximum) keeps the request count at ``ceil(items / 100)``.
* The cursor is passed back unchanged with the same parameters; an empty last page is normal.
* A 500 after the first page usually means the Kubernetes continue token expired: the walk is
  restarted from the first page once, and the pages read so far are discarded (a restart reads
  a new consistent snapshot; mixing two snapshots could duplicate or miss items).
* A cursor seen twice, or more than ``max_pages`` pages, means the walk would never end: stop
  with ``PaginationError`` naming the path instead of looping (the official client has no guard).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..context import BoundLogger
from .envelope import parse_page
from .errors import ApiError, PaginationError
from .stats import ClientStats

PAGE_SIZE = 100

FetchPage = Callable[[dict[str, str]], Awaitable[Any]]
"""Fetches one page for the given query parameters; returns decoded JSON or raises ``ApiError``."""


async def walk(
    fetch: FetchPage,
    path: str,
    params: Mapping[str, str] | None,
    *,
    what: str,
    max_pages: int,
    stats: ClientStats,
    log: BoundLogger,
) -> list[dict[str, Any]]:
    """All items of the collection at ``path``, in server order."""
    try:
        return await _walk_once(fetch, path, params, what=what, max_pages=max_pages, stats=stats)
    except _MidWalkFailure as failure:
        stats.restarts += 1
        log.warning(
            "list failed mid-walk, restarting from the first page",
            path=path,
            page=failure.page,
            status=failure.error.status,
        )
    try:
        return await _walk_once(fetch, path, params, what=what, max_pages=max_pages, stats=stats)
    except _MidWalkFailure as failure:
        raise failure.error from None


class _MidWalkFailure(Exception):
    def __init__(self, error: ApiError, page: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.page = page


async def _walk_once(
    fetch: FetchPage,
    path: str,
    params: Mapping[str, str] | None,
    *,
    what: str,
    max_pages: int,
    stats: ClientStats,
) -> list[dict[str, Any]]:
    base = {k: v for k, v in (params or {}).items() if k not in ("cursor", "limit")}
    base["limit"] = str(PAGE_SIZE)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    cursor: str | None = None
    page = 0
    while True:
        page += 1
        if page > max_pages:
            raise _loop(what, path, f"more than openchoreo.client.maxPages ({max_pages}) pages")
        query = dict(base) if cursor is None else {**base, "cursor": cursor}
        try:
            data = await fetch(query)
        except ApiError as error:
            if page > 1 and error.status == 500:
                raise _MidWalkFailure(error, page) from None
            raise
        stats.pages += 1
        page_items, cursor = parse_page(data, what=what, path=path)
        items.extend(page_items)
        if cursor is None:
            return items
        if cursor in seen:
            raise _loop(what, path, f"the server returned the same cursor twice (page {page})")
        seen.add(cursor)


def _loop(what: str, path: str, detail: str) -> PaginationError:
    return PaginationError(
        what=what,
        method="GET",
        path=path,
        status=None,
        message=f"the list at {path} does not end: {detail}; the server's cursor is looping",
    )
