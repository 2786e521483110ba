"""Which kinds a stock Backstage understands, and what to do with OpenChoreo's own kinds.

A catalog without OpenChoreo's processors rejects every ``Environment``, ``Dataplane``... entity
(one by one). ``customKinds`` decides: publish them as they are (``native``, for a Backstage with
OpenChoreo's processors), disguise them as ``Resource`` entities (``resource``), leave them out
(``skip``), or ask Backstage which ones it accepts and disguise only the others (``auto``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from openchoreo_sync import Entity, entity_ref

CustomKindsMode = Literal["auto", "native", "resource", "skip"]

BUILTIN_NAMES: dict[str, str] = {
    k.lower(): k for k in ("Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template")
}
BUILTIN_KINDS: frozenset[str] = frozenset(BUILTIN_NAMES)

ORIGINAL_KIND_ANNOTATION = "openchoreo.io/original-kind"
ORIGINAL_NAME_ANNOTATION = "openchoreo.io/original-name"
NAME_MAX = 63
"""Backstage's limit for ``metadata.name``."""


def is_builtin(kind: str) -> bool:
    return kind.lower() in BUILTIN_KINDS


def resource_name(kind: str, name: str) -> str:
    """``<kind>-<name>``, always prefixed so a name never depends on which other entities exist.

    Prefixing only on collision would rename an entity (and change its ref) the moment another kind
    gains an entity of the same name; always prefixing keeps refs stable. Names longer than
    Backstage's 63 characters are cut and end in a hash of the full name, so they stay unique.
    """
    full = f"{kind.lower()}-{name}"
    if len(full) <= NAME_MAX:
        return full
    digest = hashlib.sha1(full.encode()).hexdigest()[:8]
    return f"{full[: NAME_MAX - 9].rstrip('-_.')}-{digest}"


def as_resource(entity: Entity, default_owner: str) -> Entity:
    """A custom-kind entity re-expressed as ``kind: Resource`` (``spec.type: openchoreo-<kind>``).

    metadata (title, description, labels, tags, links, annotations) is kept; the name is prefixed
    with the kind (see :func:`resource_name`) and the original kind and name are kept as annotations.
    The original spec is kept verbatim under ``spec.openchoreo`` (Backstage's Resource schema
    allows extra spec keys) so nothing is lost and it can never clash with ``type``/``owner``.
    ``owner`` and ``system`` are lifted when the original spec has them as strings, so Backstage
    computes ``ownedBy``/``partOf``.
    """
    kind = str(entity["kind"])
    metadata = dict(entity.get("metadata") or {})
    name = str(metadata.get("name", ""))
    annotations = dict(metadata.get("annotations") or {})
    annotations[ORIGINAL_KIND_ANNOTATION] = kind
    annotations[ORIGINAL_NAME_ANNOTATION] = name
    metadata["annotations"] = annotations
    metadata["name"] = resource_name(kind, name)
    raw_spec = entity.get("spec")
    original_spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    spec: dict[str, object] = {"type": f"openchoreo-{kind.lower()}", "owner": default_owner}
    for key in ("owner", "system"):
        value = original_spec.get(key)
        if isinstance(value, str) and value:
            spec[key] = value
    spec["openchoreo"] = original_spec
    out: Entity = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": metadata,
        "spec": spec,
    }
    return out


@dataclass
class Conversion:
    """What ``customKinds`` made of the snapshot: the entities to publish and where each ref went.

    ``ref_map`` maps every original ref that is published to its published ref (itself unless
    converted); ``converted`` holds the published refs of disguised entities.
    """

    entities: list[Entity] = field(default_factory=list)
    ref_map: dict[str, str] = field(default_factory=dict)
    converted: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def convert_kinds(
    entities: Iterable[Entity],
    mode: CustomKindsMode,
    default_owner: str,
    native_kinds: Collection[str] = (),
) -> Conversion:
    """Apply ``mode`` to every non-built-in kind (``auto``: native when in ``native_kinds``, lower-case).

    A converted entity whose new ref equals another entity's ref is left out and reported: a real
    entity always wins over a disguised one. ``relations`` of the input are kept on the output
    entities (the relation step needs them; ``clean_entity`` strips them).
    """
    out = Conversion()
    converted: list[tuple[str, Entity]] = []
    for entity in entities:
        kind = str(entity.get("kind", ""))
        native = mode == "native" or is_builtin(kind) or (mode == "auto" and kind.lower() in native_kinds)
        if native:
            ref = entity_ref(entity)
            out.entities.append(entity)
            out.ref_map[ref] = ref
        elif mode != "skip":
            disguised = as_resource(entity, default_owner)
            if "relations" in entity:
                disguised["relations"] = entity["relations"]
            converted.append((entity_ref(entity), disguised))
    taken = set(out.ref_map.values())
    for original, entity in converted:
        ref = entity_ref(entity)
        if ref in taken:
            notes = entity["metadata"]["annotations"]
            kind, name = notes[ORIGINAL_KIND_ANNOTATION], notes[ORIGINAL_NAME_ANNOTATION]
            out.problems.append(f"{kind} {name} would be published as {ref}, which another entity is; left out")
            continue
        taken.add(ref)
        out.entities.append(entity)
        out.ref_map[original] = ref
        out.converted.add(ref)
    return out


def apply_custom_kinds(
    entities: Iterable[Entity], mode: CustomKindsMode, default_owner: str, native_kinds: Collection[str] = ()
) -> tuple[list[Entity], list[str]]:
    """:func:`convert_kinds` as (entities, problems)."""
    conversion = convert_kinds(entities, mode, default_owner, native_kinds)
    return conversion.entities, conversion.problems
