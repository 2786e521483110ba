"""Stored entity bodies: canonical JSON text, LZ4-compressed on SQLite.

An entity's canonical JSON is ~1.6 KB at 10k components (22 MB in all, the largest part of a
SQLite state file after the search table). LZ4 (block format, the size in a 4-byte header) stores
it in ~50 % of that (11.3 MB) for ~2 µs per body at commit and ~1.7 µs to decode: the read API
decodes every body it serves. zlib would store it in 37 % (8.2 MB) but costs ~15 µs per body at
commit and ~5 µs to decode, which a first commit and a page of 100 entities both feel.
The read API still serves the very text that was serialised: :func:`decode_body` gives it back
byte for byte (the etag is the SHA-1 of that text, computed before compressing).

A body stored by schema step 3 or by an older writer is text; :func:`decode_body` accepts both,
so a reader never has to know which one it got. PostgreSQL keeps text (its TOAST storage
compresses large values by itself, and the column stays readable with plain SQL).
"""

from __future__ import annotations

import json
from typing import Any, cast

import lz4.block
import orjson


def encode_body(text: str) -> bytes:
    """The compressed form of a body's JSON text (SQLite's ``entities.body`` column, a BLOB)."""
    return cast(bytes, lz4.block.compress(text.encode("utf-8")))


def decode_body(stored: Any) -> str:
    """The JSON text of a stored body, whichever form it was stored in (text or compressed)."""
    if type(stored) is str:
        return stored
    return cast(bytes, lz4.block.decompress(stored)).decode("utf-8")


_DIGIT_MARKS = bytes(1 if 0x30 <= code <= 0x39 else 0 for code in range(256))
_LONG_NUMBER = b"\x01" * 19
"""19 digits in a row: where an integer may pass 64 bits (2**63 has 19 digits)."""


def load_body(stored: Any) -> Any:
    """The entity of a stored body: :func:`decode_body`, then the JSON decoded exactly as ``json``
    decodes it, by orjson where that is the same (~30 % less CPU over a 10k catalog's bodies,
    which an emit, an export and a reader's pages all decode).

    orjson turns an integer beyond 64 bits into a float, where ``json`` keeps it exact: a body
    with 19 or more digits in a row anywhere (a check over its bytes, ~1.5 ns per byte) is decoded
    by ``json``, as is what orjson refuses (a lone surrogate escape)."""
    raw = stored.encode("utf-8") if type(stored) is str else cast(bytes, lz4.block.decompress(stored))
    if raw.translate(_DIGIT_MARKS).find(_LONG_NUMBER) < 0:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)
