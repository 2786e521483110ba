"""Cursor pagination exactly as openchoreo-api does it on top of Kubernetes lists.

The server lists Kubernetes pages of size ``limit`` (label selector applied by the
apiserver), filters them in memory (authorization, ``project=``/``component=``), keeps
fetching until the page is full, and returns a cursor ``base64url({"c": <continue>, "s":
<skip>})`` recording how much of the current Kubernetes page was consumed. The Kubernetes
continue token is ``base64({"v":"meta.k8s.io/v1","rv":<rv>,"start":"<last name>\\u0000"})``
and reads the snapshot at ``rv``. A continue token is issued whenever keys remain, so a
page with ``nextCursor`` can be followed by an empty final page, as on the real server.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .labels import Matcher
from .world import Obj, Snapshot

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
Predicate = Callable[[Obj], bool]


class LimitError(ValueError):
    """``limit`` is not an integer (the generated wrapper answers text/plain 400)."""


class CursorError(ValueError):
    """The cursor does not decode (the server answers 500 INTERNAL_ERROR)."""


def parse_limit(raw: str | None) -> int:
    """Default 20; clamp to 1..100 rather than reject; non-integers raise LimitError."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw, 10)
        if not -(2**31) <= value < 2**31 or raw.strip() != raw or "_" in raw:
            raise ValueError
    except ValueError:
        raise LimitError(
            "Invalid format for parameter limit: error binding string parameter: "
            f'strconv.ParseInt: parsing "{raw}": '
            + ("value out of range" if raw.lstrip("+-").isdigit() else "invalid syntax")
        ) from None
    return max(1, min(MAX_LIMIT, value))


@dataclass(frozen=True)
class Position:
    """Where a walk resumes: snapshot rv (None = now), last Kubernetes key, skip count."""

    rv: int | None
    start: str
    skip: int


START = Position(None, "", 0)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(rv: int | None, start: str, skip: int, wrapped: bool) -> str:
    """The opaque nextCursor; ``wrapped`` adds the filter layer used with project=/component=."""
    inner = ""
    if rv is not None and start:
        k8s = {"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}
        inner = base64.b64encode(json.dumps(k8s, separators=(",", ":")).encode()).decode()
    cursor = _b64url(json.dumps({"c": inner, "s": skip}, separators=(",", ":")).encode())
    if wrapped:
        cursor = _b64url(json.dumps({"c": cursor, "s": 0}, separators=(",", ":")).encode())
    return cursor


def _unwrap(cursor: str) -> tuple[str, int]:
    try:
        data: Any = json.loads(_unb64url(cursor))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("malformed cursor") from None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        raise CursorError("malformed cursor")
    skip = data.get("s", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise CursorError("malformed cursor")
    return data["c"], skip


def decode_cursor(cursor: str | None, wrapped: bool) -> Position:
    """Parse a cursor back into a Position; raise CursorError when it is not one of ours."""
    if not cursor:
        return START
    inner, skip = _unwrap(cursor)
    if wrapped:
        inner, skip = _unwrap(inner)
    if inner == "":
        return Position(None, "", skip)
    try:
        k8s: Any = json.loads(base64.b64decode(inner, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("malformed continue token") from None
    if (
        not isinstance(k8s, dict)
        or k8s.get("v") != "meta.k8s.io/v1"
        or not isinstance(k8s.get("rv"), int)
        or not isinstance(k8s.get("start"), str)
        or not k8s["start"].endswith("\x00")
    ):
        raise CursorError("malformed continue token")
    return Position(k8s["rv"], k8s["start"][:-1], skip)


def _k8s_page(snap: Snapshot, selector: Matcher | None, start: str, limit: int) -> tuple[list[Obj], str | None]:
    """One Kubernetes list page: up to ``limit`` matches after ``start``, and the continue key."""
    names, items = snap.names, snap.items
    i = bisect_left(names, start + "\x00") if start else 0
    out: list[Obj] = []
    n = len(names)
    while i < n and len(out) < limit:
        obj = items[names[i]]
        if selector is None or selector(obj["metadata"].get("labels") or {}):
            out.append(obj)
        i += 1
    return out, (names[i - 1] if i < n else None)


def paginate(
    snap: Snapshot,
    rv: int,
    pos: Position,
    limit: int,
    selector: Matcher | None,
    predicate: Predicate | None,
) -> tuple[list[Obj], Position | None]:
    """Fill one API page; returns its items and the position of the next page, if any."""
    start, skip = pos.start, pos.skip
    page: list[Obj] = []
    while True:
        chunk, cont = _k8s_page(snap, selector, start, limit)
        for idx in range(skip, len(chunk)):
            if predicate is None or predicate(chunk[idx]):
                page.append(chunk[idx])
            if len(page) == limit:
                if idx + 1 < len(chunk):
                    return page, Position(rv, start, idx + 1)
                return page, (Position(rv, cont, 0) if cont is not None else None)
        if cont is None:
            return page, None
        start, skip = cont, 0
