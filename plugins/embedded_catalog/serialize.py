"""Turn refs into the JSON of served entities, loading bodies a chunk at a time.

Only the refs a response needs are loaded, in bounded chunks. Whole entities are served as the
stored JSON text with uid and etag spliced in (``identity.served_text``): no decode, no encode.
Only a ``fields`` projection decodes a body, once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openchoreo_sync.kit import CatalogReader

from .identity import served_text, with_identity
from .projection import project

CHUNK = 500


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entity_json(entity: dict[str, Any], fields: Sequence[str] | None) -> bytes:
    return dumps(project(entity, fields) if fields else entity)


def stored_json(ref: str, body: str, etag: str | None, fields: Sequence[str] | None) -> str:
    """The served JSON of one stored row (projected to ``fields`` if given)."""
    if fields:
        projected = project(with_identity(ref, json.loads(body)), fields)
        return json.dumps(projected, separators=(",", ":"), ensure_ascii=False)
    return served_text(ref, body, etag)


def entities_array(store: CatalogReader, refs: Sequence[str], fields: Sequence[str] | None) -> bytes:
    """A JSON array of the served entities of ``refs`` in that order (refs without a body are
    skipped), projected to ``fields`` if given."""
    parts: list[str] = []
    for start in range(0, len(refs), CHUNK):
        chunk = refs[start : start + CHUNK]
        rows = store.load_served(chunk)
        for ref in chunk:
            row = rows.get(ref)
            if row is not None:
                parts.append(stored_json(ref, row[0], row[1], fields))
    return ("[" + ",".join(parts) + "]").encode("utf-8")
