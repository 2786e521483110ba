"""Flatten an entity into (key, value) search rows the way Backstage's catalog does.

Backstage filters on a flattened, lower-cased view of each entity (``buildEntitySearch``):
dotted keys into metadata and spec, one row per array item, ``relations.<type>`` rows holding the
target ref. Storing the same rows lets the embedded catalog answer ``filter=`` queries with
Backstage's semantics, in SQL, on any store backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .model import Entity

MAX_VALUE_LENGTH = 200
_SKIPPED_TOP_LEVEL = {"relations", "status", "attachments"}


def _walk(prefix: str, value: Any) -> Iterator[tuple[str, str | None]]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _walk(f"{prefix}.{key}" if prefix else str(key), child)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(prefix, item)
            if isinstance(item, str) and prefix:
                # Backstage also records each string item as a key of its own, so that
                # ``filter=metadata.tags.java`` (existence) matches a tag "java".
                yield f"{prefix}.{item}", "true"
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    elif isinstance(value, (int, float)):
        yield prefix, str(value)
    elif isinstance(value, str):
        yield prefix, value
    elif value is None:
        yield prefix, None


def search_rows(entity: Entity) -> list[tuple[str, str | None]]:
    """Distinct lower-cased (key, value) pairs; values longer than Backstage's limit are kept as None.

    A None value still records that the key exists, so ``filter=key`` (existence) matches it.
    """
    rows: dict[tuple[str, str | None], None] = {}
    for key, child in entity.items():
        if key in _SKIPPED_TOP_LEVEL:
            continue
        for path, value in _walk(key, child):
            lowered = None if value is None or len(value) > MAX_VALUE_LENGTH else value.lower()
            rows[(path.lower(), lowered)] = None
    metadata = entity.get("metadata", {})
    if "namespace" not in metadata:
        rows[("metadata.namespace", "default")] = None
    for relation in entity.get("relations", ()):
        rows[(f"relations.{relation['type']}".lower(), str(relation["targetRef"]).lower())] = None
    return list(rows)
