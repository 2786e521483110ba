"""Parse the catalog API's query parameters with Backstage's rules and error messages.

Everything here is pure: it turns request strings into small typed values (or raises
:class:`InputError`), so the query code never sees raw parameters. Filter keys and values are
lower-cased here because the search table stores them lower-cased (Backstage compares the same way).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InputError

MAX_FILTERS = 100
"""``filter`` parameters per request: each is one OR branch of one SQL statement; thousands would
exceed the database's expression depth and answer a 500 instead of a clear 400."""
MAX_FILTER_STATEMENTS = 500
"""``key=value`` statements across all filters of a request."""

Condition = tuple[str, list[str] | None]
"""(lower-cased key, lower-cased accepted values) or (key, None) for "the key exists"."""
Alternatives = list[list[Condition]]
"""OR of ANDs: the shape ``CatalogReader.match_refs`` takes."""


@dataclass(frozen=True)
class OrderSpec:
    """One sort key: a lower-cased search key and its direction."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """Legacy ``/entities`` paging: ``after`` (a base64 ``{limit, offset}``) overrides both."""

    limit: int | None = None
    offset: int | None = None

    @property
    def active(self) -> bool:
        return self.limit is not None or self.offset is not None


def parse_int(raw: str | None, name: str) -> int | None:
    """An integer parameter written exactly as an integer (``"10"``, not ``"10.0"`` or ``" 10"``)."""
    if raw is None:
        return None
    try:
        value = int(raw, 10)
    except ValueError:
        raise InputError(f"Invalid {name}, not an integer") from None
    if str(value) != raw:
        raise InputError(f"Invalid {name}, not an integer")
    return value


def parse_filters(raw: Sequence[str]) -> Alternatives | None:
    """``filter`` params: each one an AND of ``key=value`` / ``key`` statements; several are OR'ed.

    Repeating a key inside one filter accepts any of its values (``kind=a,kind=b``). Empty filter
    strings are ignored; None means "no filter" (everything matches).
    """
    if len(raw) > MAX_FILTERS:
        raise InputError(f"Invalid filter, at most {MAX_FILTERS} filter parameters are supported, got {len(raw)}")
    alternatives: Alternatives = []
    conditions = 0
    for text in raw:
        statements = [s.strip() for s in text.split(",") if s.strip()]
        conditions += len(statements)
        if conditions > MAX_FILTER_STATEMENTS:
            raise InputError(
                f"Invalid filter, at most {MAX_FILTER_STATEMENTS} statements are supported across all filters"
            )
        if not statements:
            continue
        by_key: dict[str, list[str] | None] = {}
        for statement in statements:
            key, equals, value = statement.partition("=")
            key = key.strip()
            if not key:
                raise InputError(
                    f"Invalid filter, '{statement}' is not a valid statement "
                    "(expected a string on the form a=b or a= or a)"
                )
            lowered = key.lower()
            values = by_key.setdefault(lowered, None)
            if equals:
                by_key[lowered] = [*(values or []), value.strip().lower()]
        alternatives.append(list(by_key.items()))
    return alternatives or None


def parse_fields(raw: Sequence[str], extra: Sequence[str] = ()) -> list[str] | None:
    """``fields`` params (comma-separated, repeatable) plus body fields; None means whole entities."""
    fields: list[str] = []
    for part in [*extra, *(piece for text in raw for piece in text.split(","))]:
        field = part.strip()
        if field and field not in fields:
            fields.append(field)
    for field in fields:
        if "[" in field:
            raise InputError(f'Invalid field "{field}", array type fields are not supported')
    return fields or None


def parse_order(raw: Sequence[str]) -> list[OrderSpec] | None:
    """Legacy ``order=asc:metadata.name`` params, repeatable (later ones break ties)."""
    specs: list[OrderSpec] = []
    for item in raw:
        direction, colon, field = item.partition(":")
        if not colon or direction not in ("asc", "desc") or not field:
            raise InputError(f'Invalid order parameter "{item}", expected "<asc or desc>:<field name>"')
        specs.append(OrderSpec(field.lower(), direction == "desc"))
    return specs or None


def parse_order_fields(raw: Sequence[str]) -> list[OrderSpec] | None:
    """by-query ``orderField=metadata.name,desc`` params (direction optional, default asc)."""
    specs: list[OrderSpec] = []
    for item in raw:
        parts = item.split(",")
        field, direction = parts[0], parts[1] if len(parts) > 1 else None
        if direction is not None and direction not in ("asc", "desc"):
            raise InputError("Invalid order field order, must be asc or desc")
        if not field.strip():
            raise InputError(f'Invalid orderField "{item}", the field name is empty')
        specs.append(OrderSpec(field.strip().lower(), direction == "desc"))
    return specs or None


def parse_page(limit_raw: str | None, offset_raw: str | None, after_raw: str | None) -> Page:
    """Legacy paging parameters, validated like Backstage (limit > 0, offset >= 0)."""
    limit = parse_int(limit_raw, "limit")
    offset = parse_int(offset_raw, "offset")
    if offset is not None and offset < 0:
        raise InputError("Invalid offset, must be zero or greater")
    if limit is not None and limit <= 0:
        raise InputError("Invalid limit, must be greater than zero")
    if after_raw is None:
        return Page(limit, offset)
    if not after_raw:
        raise InputError("Invalid after, must not be empty")
    try:
        cursor = json.loads(base64.b64decode(after_raw, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InputError("Malformed after cursor, could not be parsed") from None
    if not isinstance(cursor, dict):
        raise InputError("Malformed after cursor, could not be parsed")
    for name in ("limit", "offset"):
        value = cursor.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise InputError(f"Malformed after cursor, {name} was not a number")
    return Page(cursor.get("limit", limit), cursor.get("offset", offset))


def encode_after(limit: int, offset: int) -> str:
    """The ``after`` cursor for the next legacy page, in Backstage's own format."""
    return base64.b64encode(json.dumps({"limit": limit, "offset": offset}, separators=(",", ":")).encode()).decode()


def parse_facets(raw: Sequence[str]) -> list[str]:
    """``facet`` params; at least one non-empty is required."""
    facets = [f for f in raw if f]
    if not facets:
        raise InputError("Missing facet parameter")
    return list(dict.fromkeys(facets))


def parse_text_fields(raw: Sequence[str]) -> list[str] | None:
    """``fullTextFilterFields``: comma-separated (or repeated) search keys, lower-cased."""
    fields = [p.strip().lower() for text in raw for p in text.split(",") if p.strip()]
    return fields or None
