"""Flatten an entity into (key, value) search rows the way Backstage's catalog does.

Backstage filters on a flattened, lower-cased view of each entity (``buildEntitySearch``):
dotted keys into metadata and spec, one row per array item, ``relations.<type>`` rows holding the
target ref. Storing the same rows lets the embedded catalog answer ``filter=`` queries with
Backstage's semantics, in SQL, on any store backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Entity

MAX_VALUE_LENGTH = 200
_SKIPPED_TOP_LEVEL = {"relations", "status", "attachments"}
_USUAL_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata", "spec", "relations", "status", "attachments"})


def _walk(prefix: str, value: Any, out: list[tuple[str, str | None]]) -> None:
    """Append the flattened rows of ``value`` to ``out`` (plain recursion: no generator per level)."""
    if type(value) is str:  # most values: checked first, and without the ABC machinery
        out.append((prefix, value))
    elif isinstance(value, dict | Mapping):
        for key, child in value.items():
            _walk(f"{prefix}.{key}" if prefix else str(key), child, out)
    elif isinstance(value, list):
        for item in value:
            _walk(prefix, item, out)
            if isinstance(item, str) and prefix:
                # Backstage also records each string item as a key of its own, so that
                # ``filter=metadata.tags.java`` (existence) matches a tag "java".
                out.append((f"{prefix}.{item}", "true"))
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif isinstance(value, (int, float)):
        out.append((prefix, str(value)))
    elif isinstance(value, str):
        out.append((prefix, value))
    elif value is None:
        out.append((prefix, None))


def search_rows(entity: Entity) -> list[tuple[str, str | None]]:
    """Distinct lower-cased (key, value) pairs; values longer than Backstage's limit are kept as None.

    A None value still records that the key exists, so ``filter=key`` (existence) matches it.
    """
    rows = own_rows(entity)
    _add_relation_rows(rows, entity)
    return list(rows)


def own_rows(entity: Entity) -> dict[tuple[str, str | None], None]:
    """The rows of :func:`search_rows` that do not come from ``relations`` (in the same order):
    what an entity gives before the relate step, which a first commit stages while fetching."""
    rows: dict[tuple[str, str | None], None] = {}
    flat: list[tuple[str, str | None]] = []
    for key, child in entity.items():
        if key not in _SKIPPED_TOP_LEVEL:
            _walk(key, child, flat)
    for path, value in flat:
        lowered = None if value is None or len(value) > MAX_VALUE_LENGTH else value.lower()
        rows[(path.lower(), lowered)] = None
    metadata = entity.get("metadata", {})
    if "namespace" not in metadata:
        rows[("metadata.namespace", "default")] = None
    return rows


def relation_rows(entity: Entity) -> list[tuple[str, str | None]]:
    """The rows of :func:`search_rows` that come from ``relations``: with :func:`own_rows`, all of
    them, when no own key lower-cases to ``relations.<type>`` (see :func:`own_keys_apart`)."""
    rows: dict[tuple[str, str | None], None] = {}
    _add_relation_rows(rows, entity)
    return list(rows)


_RELATION_KEYS: dict[str, str] = {}
"""Relation type -> its search key (``relations.<type>`` lower-cased): a handful of types, each
met once per relation (~94k at 10k components). Bounded by :data:`_RELATION_KEYS_MAX`."""
_RELATION_KEYS_MAX = 4096


def _relation_key(relation_type: Any) -> str:
    key = f"relations.{relation_type}".lower()
    if type(relation_type) is str and len(_RELATION_KEYS) < _RELATION_KEYS_MAX:
        _RELATION_KEYS[relation_type] = key
    return key


def _add_relation_rows(rows: dict[tuple[str, str | None], None], entity: Entity) -> None:
    """Add the rows of the entity's ``relations`` (``relations.<type>`` -> lower-cased target)."""
    keys = _RELATION_KEYS
    for relation in entity.get("relations", ()):
        relation_type = relation["type"]
        key = keys.get(relation_type) if type(relation_type) is str else None
        if key is None:
            key = _relation_key(relation_type)
        target = relation["targetRef"]
        rows[(key, (target if type(target) is str else str(target)).lower())] = None


def own_keys_apart(entity: Entity) -> bool:
    """True when no row of :func:`own_rows` can have a ``relations.`` key (only a top-level key
    other than ``relations`` lower-casing to one could): the two parts then never overlap."""
    if entity.keys() <= _USUAL_TOP_LEVEL:
        return True
    return not any(key != "relations" and str(key).lower().startswith("relations") for key in entity)
