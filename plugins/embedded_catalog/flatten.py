"""Case-preserving flattening of one entity, for facet values in their original case.

The search table keeps only lower-cased values (enough to filter and sort); Backstage's facets
answer with the value as written (``Component``, not ``component``). For each facet value we load
one sample entity and read the original spelling here, walking the entity exactly the way
``openchoreo_sync.search`` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openchoreo_sync.kit.catalog import MAX_VALUE_LENGTH

_SKIPPED_TOP_LEVEL = {"relations", "status", "attachments"}


def _walk(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _walk(f"{prefix}.{key}" if prefix else str(key), child)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(prefix, item)
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    elif isinstance(value, (int, float)):
        yield prefix, str(value)
    elif isinstance(value, str) and len(value) <= MAX_VALUE_LENGTH:
        yield prefix, value


def original_values(entity: Mapping[str, Any], key: str) -> list[str]:
    """The values (original case) an entity has under a lower-cased search key."""
    if key.startswith("relations."):
        wanted = key.removeprefix("relations.")
        return [str(r["targetRef"]) for r in entity.get("relations", ()) if str(r.get("type", "")).lower() == wanted]
    top = key.split(".", 1)[0]
    found: list[str] = []
    for name, child in entity.items():
        if name in _SKIPPED_TOP_LEVEL or name.lower() != top:
            continue
        found.extend(value for path, value in _walk(name, child) if path.lower() == key)
    if not found and key == "metadata.namespace":
        found.append("default")
    return found


def original_case(entity: Mapping[str, Any], key: str, lowered: str) -> str:
    """The original spelling of one lower-cased search value (itself if the entity lacks it)."""
    for value in original_values(entity, key):
        if value.lower() == lowered:
            return value
    return lowered
