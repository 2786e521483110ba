"""Turn snapshot entities into the YAML a Backstage location reader ingests.

Shared by the ``backstage`` and ``files`` outputs so both publish byte-identical entities. Output
is deterministic (sorted keys, entities sorted by ref) because both outputs decide whether a file
changed by comparing bytes: a reordering must never look like a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from openchoreo_sync import Entity, entity_ref

COMPUTED_METADATA = ("uid", "etag", "generation")
"""Metadata Backstage assigns itself; a value we sent would only be overwritten or rejected."""

LOCATION_ANNOTATIONS = ("backstage.io/managed-by-location", "backstage.io/managed-by-origin-location")
"""Backstage sets these to the location it read the entity from; ours would claim a provider."""

PLACEHOLDER_MARKER = "openchoreoEscaped"
"""Added next to a lone ``$key`` so Backstage's placeholder processor leaves the object alone."""


def defuse_placeholders(value: Any) -> Any:
    """Copy ``value`` so no object is a Backstage placeholder (``{$text|$json|$yaml: url}``).

    Backstage resolves a single-key object whose key starts with ``$`` by *reading a URL*: OpenChoreo
    text must stay data, so such an object gets a sibling marker key (Backstage leaves objects
    with more than one key untouched). The original key and value are kept as they were.
    """
    if isinstance(value, Mapping):
        out = {str(k): defuse_placeholders(v) for k, v in value.items()}
        if len(out) == 1 and next(iter(out)).startswith("$"):
            out[PLACEHOLDER_MARKER] = "placeholder"
        return out
    if isinstance(value, list | tuple):
        return [defuse_placeholders(v) for v in value]
    return value


def clean_entity(entity: Entity) -> Entity:
    """A copy without what Backstage computes itself (relations, uid, location annotations).

    Only the levels it removes keys from are copied here; ``defuse_placeholders`` then copies every
    container anyway, after the removals, so a ``$key`` left alone by them is still defused.
    """
    out = {key: value for key, value in entity.items() if key != "relations"}
    metadata = {key: value for key, value in (out.get("metadata") or {}).items() if key not in COMPUTED_METADATA}
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        kept = {key: value for key, value in annotations.items() if key not in LOCATION_ANNOTATIONS}
        if kept:
            metadata["annotations"] = kept
        else:
            metadata.pop("annotations")
    out["metadata"] = metadata
    result: Entity = defuse_placeholders(out)
    return result


_SafeBase: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: same bytes, ~6x faster


class _Dumper(_SafeBase):  # type: ignore[misc]
    """A safe dumper that never emits anchors/aliases: every entity document stands on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_entities(entities: Iterable[Entity]) -> bytes:
    """A multi-document YAML stream of ``entities`` sorted by ref (empty stream for none)."""
    ordered = sorted(entities, key=entity_ref)
    if not ordered:
        return b""
    text = yaml.dump_all(
        ordered,
        Dumper=_Dumper,
        sort_keys=True,
        allow_unicode=True,
        explicit_start=True,
        default_flow_style=False,
        width=4096,
    )
    return text.encode("utf-8")
