"""Turn refs into the JSON of served entities, loading bodies a chunk at a time.

Only the refs a response needs are loaded, in bounded chunks, and each entity is serialized as
soon as it is decorated, so a request holds at most one chunk of parsed bodies at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from openchoreo_sync.kit import CatalogReader

from .identity import with_identity
from .projection import project

CHUNK = 500


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def served_entities(store: CatalogReader, refs: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The served entities of ``refs``, in that order (refs without a body are skipped)."""
    for start in range(0, len(refs), CHUNK):
        chunk = refs[start : start + CHUNK]
        bodies = store.load_bodies(chunk)
        for ref in chunk:
            body = bodies.get(ref)
            if body is not None:
                yield with_identity(ref, body)


def entity_json(entity: dict[str, Any], fields: Sequence[str] | None) -> bytes:
    return dumps(project(entity, fields) if fields else entity)


def entities_array(store: CatalogReader, refs: Sequence[str], fields: Sequence[str] | None) -> bytes:
    """A JSON array of the served entities of ``refs``, projected to ``fields`` if given."""
    return b"[" + b",".join(entity_json(entity, fields) for entity in served_entities(store, refs)) + b"]"
