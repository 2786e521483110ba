"""``GET /entities/by-query``: filtered, full-text filtered, sorted, cursor-paged entities.

Semantics follow Backstage's ``queryEntities``: one sort field (``orderField``; further ones are
ignored); with a sort field only entities that *have* a value for it are returned (and counted);
rows are ordered by (value, ref) in the requested direction, without one by ref ascending. The
full-text term is a case-insensitive substring match on ``fullTextFilterFields``, defaulting to
the sort field or ``metadata.uid``. ``limit`` defaults to 200; ``offset`` applies to the first
request only. ``totalItems`` is counted on the first request and carried in the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from openchoreo_sync.kit import CatalogReader

from . import cursor
from .cursor import Key, QueryState
from .identity import uid_for
from .ordering import sort_key_value
from .serialize import dumps, entities_array
from .snapshot_cache import SnapshotCache
from .view import matched_refs, values_by_ref

DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class ByQuery:
    state: QueryState
    fields: list[str] | None
    limit: int
    offset: int = 0


def _text_matches(store: CatalogReader, state: QueryState, refs: list[str]) -> set[str]:
    term = state.term.strip().lower()
    fields = state.text_fields or [state.order.field if state.order else "metadata.uid"]
    hits = {ref for ref in refs if "metadata.uid" in fields and term in uid_for(ref)}
    searchable = [f for f in fields if f != "metadata.uid"]
    for ref, _key, value in store.search_values(searchable, state.filter) if searchable else ():
        if value is not None and term in value:
            hits.add(ref)
    return hits


def _keys(store: CatalogReader, state: QueryState) -> list[Key]:
    """Every row of the result in order, as its keyset position."""
    refs = matched_refs(store, state.filter)
    if state.term.strip():
        hits = _text_matches(store, state, refs)
        refs = [ref for ref in refs if ref in hits]
    if state.order is None:
        return [(ref,) for ref in refs]
    descending = state.order.descending
    by_ref = values_by_ref(store, [state.order.field], state.filter)[state.order.field]
    keyed: list[Key] = []
    for ref in refs:
        value = sort_key_value(by_ref.get(ref), descending)
        if value is not None:
            keyed.append((value, ref))
    keyed.sort(reverse=descending)
    return keyed


def _beyond(key: Key, position: Key, descending: bool) -> bool:
    return key < position if descending else key > position


def query_entities(store: CatalogReader, query: ByQuery, cache: SnapshotCache | None = None) -> bytes:
    """One page; with ``cache`` the ordered keyset of a (filter, order, term) is computed once per
    snapshot, and each page reads only its own bodies."""
    state = query.state
    if cache is None:
        keys = _keys(store, state)
    else:
        key = ("by-query", repr(state.filter), repr(state.order), state.term, repr(state.text_fields))
        keys = cache.get(store, key, lambda: _keys(store, state))
    total = state.total if state.total is not None else (len(keys) if state.count_total else 0)
    descending = bool(state.order and state.order.descending)
    limit = query.limit
    if state.initial:
        rest = keys[query.offset :]
        page, has_more = rest[:limit], len(rest) > limit
    elif not state.previous:
        assert state.position is not None
        rest = [k for k in keys if _beyond(k, state.position, descending)]
        page, has_more = rest[:limit], len(rest) > limit
    else:
        assert state.position is not None
        before = [k for k in keys if _beyond(state.position, k, descending)]
        page, has_more = (before[-limit:] if limit else []), True
    if limit <= 0:
        page, has_more = [], False
    first = state.first if state.first is not None else (page[0] if page else None)
    page_info: dict[str, Any] = {}
    if has_more and page:
        page_info["nextCursor"] = cursor.encode(
            replace(state, position=page[-1], previous=False, first=first, total=total)
        )
    if not state.initial and page and page[0] != state.first:
        page_info["prevCursor"] = cursor.encode(replace(state, position=page[0], previous=True, total=total))
    items = entities_array(store, [k[-1] for k in page], query.fields)
    return b'{"items":' + items + b',"totalItems":' + dumps(total) + b',"pageInfo":' + dumps(page_info) + b"}"
