"""The opaque ``cursor`` of ``/entities/by-query``: the whole query plus a keyset position.

Like Backstage's, a cursor carries everything needed for the next page (filter, sort field,
full-text filter, the first page's first row and the total), so follow-up requests pass only
``cursor`` (and optionally ``limit``/``fields``). The position is the (sort value, ref) of the
row the page continues from, so paging stays stable when earlier rows come or go. The format is
base64 JSON, versioned; clients must treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from .errors import InputError
from .params import Alternatives, OrderSpec

VERSION = 1
Key = tuple[str, ...]
"""A row's position: (sort value, ref) with a sort field, (ref,) without one."""


@dataclass(frozen=True)
class QueryState:
    """One by-query request, initial or continued."""

    filter: Alternatives | None = None
    order: OrderSpec | None = None
    term: str = ""
    text_fields: list[str] | None = None
    position: Key | None = None
    previous: bool = False
    first: Key | None = None
    total: int | None = None
    count_total: bool = True

    @property
    def initial(self) -> bool:
        return self.first is None


def encode(state: QueryState) -> str:
    payload = {
        "v": VERSION,
        "filter": state.filter,
        "order": [state.order.field, "desc" if state.order.descending else "asc"] if state.order else None,
        "term": state.term,
        "textFields": state.text_fields,
        "position": list(state.position) if state.position is not None else None,
        "previous": state.previous,
        "first": list(state.first) if state.first is not None else None,
        "total": state.total,
    }
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"Malformed cursor: {what} must be a list of strings")
    return value


def _key(value: Any, what: str) -> Key | None:
    return None if value is None else tuple(_strings(value, what))


def _filter(value: Any) -> Alternatives | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InputError("Malformed cursor: filter must be a list")
    out: Alternatives = []
    for conditions in value:
        if not isinstance(conditions, list):
            raise InputError("Malformed cursor: filter must be a list of lists")
        parsed = []
        for condition in conditions:
            if not (isinstance(condition, list) and len(condition) == 2 and isinstance(condition[0], str)):
                raise InputError("Malformed cursor: a filter condition must be [key, values]")
            values = None if condition[1] is None else _strings(condition[1], "filter values")
            parsed.append((condition[0], values))
        out.append(parsed)
    return out


def decode(text: str) -> QueryState:
    """Parse a cursor from a previous response; anything else is a 400 ``InputError``."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"Malformed cursor: {exc}") from None
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise InputError("Malformed cursor: not a cursor of this catalog")
    order = payload.get("order")
    if order is not None and not (
        isinstance(order, list) and len(order) == 2 and isinstance(order[0], str) and order[1] in ("asc", "desc")
    ):
        raise InputError("Malformed cursor: order must be [field, asc|desc]")
    term, total = payload.get("term", ""), payload.get("total")
    if not isinstance(term, str) or not (total is None or (isinstance(total, int) and not isinstance(total, bool))):
        raise InputError("Malformed cursor: bad term or total")
    text_fields = payload.get("textFields")
    return QueryState(
        filter=_filter(payload.get("filter")),
        order=OrderSpec(order[0], order[1] == "desc") if order else None,
        term=term,
        text_fields=None if text_fields is None else _strings(text_fields, "textFields"),
        position=_key(payload.get("position"), "position"),
        previous=bool(payload.get("previous")),
        first=_key(payload.get("first"), "first"),
        total=total,
    )
