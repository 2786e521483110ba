"""The ``fields`` projection: keep only the named dotted paths of an entity.

A path part that is not a key on its own is joined with the next one, so annotation keys that
contain dots work: ``metadata.annotations.backstage.io/source-location``. Missing paths are
skipped, as in Backstage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = object()


def _child(node: Any, part: str) -> Any:
    if isinstance(node, Mapping):
        return node.get(part, _MISSING)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return _MISSING


def resolve(entity: Mapping[str, Any], field: str) -> tuple[list[str], Any]:
    """(path actually walked, value) for a dotted field; the value is ``_MISSING`` if absent."""
    parts = field.split(".")
    path: list[str] = []
    node: Any = entity
    pending = ""
    for index, part in enumerate(parts):
        candidate = f"{pending}.{part}" if pending else part
        value = _child(node, candidate)
        if value is not _MISSING:
            path.append(candidate)
            node = value
            pending = ""
        elif index + 1 < len(parts):
            pending = candidate
        else:
            return path, _MISSING
    return path, node


def project(entity: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """A new entity holding only ``fields`` (nested objects rebuilt, values shared, not copied)."""
    out: dict[str, Any] = {}
    for field in fields:
        path, value = resolve(entity, field)
        if value is _MISSING or not path:
            continue
        target = out
        for part in path[:-1]:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = target[part] = {}
            target = nested
        target[path[-1]] = value
    return out
