"""Checks a list page against ``{"items": [...], "pagination": {"nextCursor"?: str}}``.

A proxy error page, a truncated body or a changed API must fail loudly with the path and what
was wrong, never turn into "zero items" (which downstream would read as "everything deleted").
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .errorbody import shorten
from .errors import MalformedResponseError


def decode_json(body: bytes, *, what: str, path: str, content_type: str) -> Any:
    """The JSON value of a 2xx body, or ``MalformedResponseError`` quoting its start.

    orjson decodes ~3x faster; what it refuses and the standard library accepts (a lone
    surrogate escape, ``NaN``, a BOM) is decoded by ``json`` as before. An integer beyond 64 bits
    becomes a float, as JavaScript's ``JSON.parse`` makes it in the official module and in
    Backstage (stored bodies are decoded exactly: ``store.bodies.load_body``).
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except ValueError as exc:
        preview = shorten(body.decode("utf-8", errors="replace"), 120) or "empty body"
        raise MalformedResponseError(
            what=what,
            method="GET",
            path=path,
            status=None,
            message=f"response from {path} is not valid JSON ({exc}; content-type {content_type or 'none'}): {preview}",
        ) from None


def _malformed(what: str, path: str, problem: str) -> MalformedResponseError:
    return MalformedResponseError(
        what=what,
        method="GET",
        path=path,
        status=None,
        message=f"malformed list response from {path}: {problem}",
    )


def parse_page(data: Any, *, what: str, path: str) -> tuple[list[dict[str, Any]], str | None]:
    """``(items, next_cursor)``; the cursor is None when the walk is complete.

    ``"items": null`` counts as empty because Go encodes an empty nil slice that way. A missing
    ``pagination`` is read as the last page, as the official client does; any other shape is an
    error.
    """
    if not isinstance(data, dict):
        raise _malformed(what, path, f"expected a JSON object, got {type(data).__name__}")
    if "items" not in data:
        keys = ", ".join(sorted(data)) or "none"
        raise _malformed(what, path, f"no 'items' key (keys: {keys})")
    items = data["items"]
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _malformed(what, path, f"'items' is a {type(items).__name__}, not a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _malformed(what, path, f"items[{index}] is a {type(item).__name__}, not an object")
    pagination = data.get("pagination")
    if pagination is None:
        return items, None
    if not isinstance(pagination, dict):
        raise _malformed(what, path, f"'pagination' is a {type(pagination).__name__}, not an object")
    cursor = pagination.get("nextCursor")
    if cursor is None or cursor == "":
        return items, None
    if not isinstance(cursor, str):
        raise _malformed(what, path, f"'pagination.nextCursor' is a {type(cursor).__name__}, not a string")
    return items, cursor
