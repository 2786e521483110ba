"""Walks every page of one collection, with the API's cursor rules (reference section 4).

* ``limit=100`` (the server's maximum) keeps the request count at ``ceil(items / 100)``.
* The cursor is passed back unchanged with the same parameters; an empty last page is normal.
* A 500 after the first page usually means the Kubernetes continue token expired: the walk is
  restarted from the first page once, and the pages read so far are discarded (a restart reads
  a new consistent snapshot; mixing two snapshots could duplicate or miss items).
* A cursor seen twice, or more than ``max_pages`` pages, means the walk would never end: stop
  with ``PaginationError`` naming the path instead of looping (the official client has no guard).
* The walk's items come back as :class:`Listed`, with a digest of the pages' bytes (cursors
  left out): what a run with nothing changed compares instead of re-encoding every item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from ..context import BoundLogger
from .envelope import parse_page
from .errors import ApiError, PaginationError
from .stats import ClientStats

PAGE_SIZE = 100

FetchPage = Callable[[dict[str, str], int], Awaitable[tuple[Any, bytes]]]
"""Fetches one page for the given query parameters, at a priority (:class:`PageCounts`); returns
its decoded JSON and the raw body it was decoded from, or raises ``ApiError``."""

PAGE_COUNTS_KEPT = 20_000
ONE_OBJECT = 3
"""The priority of a single object's GET: above a one-page list's (2), below a walk's next page
with two or more pages left behind it (5 and up); level with a known walk's last page."""


class PageCounts(dict[tuple[str, tuple[tuple[str, str], ...]], int]):
    """How many pages each list had when last walked, kept across runs (one per client factory).

    A page's priority for a request slot is the pages its walk has left, counting it, as they
    were last time: the longest chains of round trips go first and the short lists fill the slots
    around them. Unknown walks count a first page as the last and a next page as one of two.
    Only an order: a wrong count costs time, never a page.
    """

    def priority(self, key: tuple[str, tuple[tuple[str, str], ...]], page: int) -> int:
        left = self.get(key, 0) - page + 1
        if left < 1:
            left = 1 if page == 1 else 2
        return 2 * left + (page > 1)  # a next page before a first page with as many left

    def walked(self, key: tuple[str, tuple[tuple[str, str], ...]], pages: int) -> None:
        if len(self) >= PAGE_COUNTS_KEPT and key not in self:
            self.clear()  # bounded: many distinct queries (per-component lists) start it over
        self[key] = pages


class Listed(list[dict[str, Any]]):
    """A walk's items, in server order, with ``digest``: SHA-256 over the bytes of its pages.

    Equal digests mean byte-equal pages (each page's ``nextCursor`` value left out, see
    :func:`page_part`), hence equal items in the same order. Used by
    :meth:`~openchoreo_sync.context.SyncContext.walk` for the unchanged-inputs skip.
    """

    digest: str | None = None


def page_part(body: bytes, cursor: str | None) -> bytes:
    """The bytes of a page that say what it lists: all of it but the ``nextCursor`` value.

    A continue token names the resource version the list was read at, which moves with every
    write anywhere in a Kubernetes cluster: pages whose items are byte-equal would differ in it
    on every run. It is cut only where the body provably ends with it (the page's last member is
    ``pagination``, whose last member is ``nextCursor``, encoded as orjson encodes it, then
    ``}}`` and whitespace), so what is cut cannot be part of an item; otherwise the whole body
    counts (a page then never matches a run whose cursor differs, which only costs a full run).
    """
    if cursor is None:
        return body
    end = body.rstrip()
    tail = orjson.dumps(cursor) + b"}}"
    if not end.endswith(tail):
        return body
    return end[: len(end) - len(tail)]


def _cursor_is_last(data: Any) -> bool:
    """``data``'s last member is ``pagination`` and its last member ``nextCursor`` (dicts keep the
    body's order), so a body ending in that cursor ends in this very member."""
    if not isinstance(data, dict) or not data or next(reversed(data)) != "pagination":
        return False
    pagination = data["pagination"]
    return isinstance(pagination, dict) and bool(pagination) and next(reversed(pagination)) == "nextCursor"


async def walk(
    fetch: FetchPage,
    path: str,
    params: Mapping[str, str] | None,
    *,
    what: str,
    max_pages: int,
    stats: ClientStats,
    log: BoundLogger,
    page_counts: PageCounts | None = None,
) -> Listed:
    """All items of the collection at ``path``, in server order, with the pages' digest."""
    counts = page_counts if page_counts is not None else PageCounts()
    try:
        return await _walk_once(fetch, path, params, what=what, max_pages=max_pages, stats=stats, counts=counts)
    except _MidWalkFailure as failure:
        stats.restarts += 1
        log.warning(
            "list failed mid-walk, restarting from the first page",
            path=path,
            page=failure.page,
            status=failure.error.status,
        )
    try:
        return await _walk_once(fetch, path, params, what=what, max_pages=max_pages, stats=stats, counts=counts)
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
    counts: PageCounts,
) -> Listed:
    base = {k: v for k, v in (params or {}).items() if k not in ("cursor", "limit")}
    base["limit"] = str(PAGE_SIZE)
    key = (path, tuple(sorted(base.items())))
    items = Listed()
    digest = hashlib.sha256(orjson.dumps([path, key[1]]))
    seen: set[str] = set()
    cursor: str | None = None
    page = 0
    while True:
        page += 1
        if page > max_pages:
            raise _loop(what, path, f"more than openchoreo.client.maxPages ({max_pages}) pages")
        query = dict(base) if cursor is None else {**base, "cursor": cursor}
        try:
            data, body = await fetch(query, counts.priority(key, page))
        except ApiError as error:
            if page > 1 and error.status == 500:
                raise _MidWalkFailure(error, page) from None
            raise
        stats.pages += 1
        page_items, cursor = parse_page(data, what=what, path=path)
        items.extend(page_items)
        part = page_part(body, cursor) if cursor is not None and _cursor_is_last(data) else body
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
        if cursor is None:
            items.digest = digest.hexdigest()
            counts.walked(key, page)
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
