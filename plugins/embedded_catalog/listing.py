"""``GET /entities``: the legacy list, filtered, ordered, paged by offset/limit or ``after``."""

from __future__ import annotations

from dataclasses import dataclass

from openchoreo_sync.kit import CatalogReader

from .ordering import sort_refs
from .params import Alternatives, OrderSpec, Page
from .serialize import entities_array
from .snapshot_cache import SnapshotCache
from .view import matched_refs, values_by_ref


@dataclass(frozen=True)
class ListQuery:
    filter: Alternatives | None
    fields: list[str] | None
    order: list[OrderSpec] | None
    page: Page


@dataclass(frozen=True)
class ListResult:
    body: bytes
    next_page: tuple[int, int] | None
    """(limit, offset) of the next page, when there is one."""


def ordered_refs(store: CatalogReader, query: ListQuery) -> list[str]:
    """Every matching ref in the response's order (not yet paged)."""
    refs = matched_refs(store, query.filter)
    if query.order:
        refs = sort_refs(refs, query.order, values_by_ref(store, [s.field for s in query.order], query.filter))
    return refs


def list_entities(store: CatalogReader, query: ListQuery, cache: SnapshotCache | None = None) -> ListResult:
    """Match in SQL, order on the matched refs' search values, then load only the page's bodies.

    With ``cache`` the ordered refs are computed once per snapshot for a (filter, order).
    """
    if cache is None:
        refs = ordered_refs(store, query)
    else:
        key = ("entities", repr(query.filter), repr(query.order))
        refs = cache.get(store, key, lambda: ordered_refs(store, query))
    start = query.page.offset or 0
    limit = query.page.limit
    window = refs[start:] if limit is None else refs[start : start + limit]
    next_page = (limit, start + limit) if limit is not None and len(refs) > start + limit else None
    return ListResult(entities_array(store, window, query.fields), next_page)
