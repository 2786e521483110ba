"""Which kinds a stock Backstage understands, and what to do with OpenChoreo's own kinds.

A catalog without OpenChoreo's processors rejects every ``Environment``, ``Dataplane``... entity
(one by one). ``customKinds`` decides: publish them as they are (``native``, for a Backstage with
OpenChoreo's processors), disguise them as ``Resource`` entities (``resource``), or leave them out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

from openchoreo_sync import Entity, entity_ref

CustomKindsMode = Literal["native", "resource", "skip"]

BUILTIN_KINDS: frozenset[str] = frozenset(
    k.lower() for k in ("Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template")
)

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


def apply_custom_kinds(
    entities: Iterable[Entity], mode: CustomKindsMode, default_owner: str
) -> tuple[list[Entity], list[str]]:
    """Apply ``mode`` to every non-built-in kind; return (entities, problems).

    In ``resource`` mode a converted entity whose new ref equals another entity's ref is left out
    and reported: a real entity always wins over a disguised one.
    """
    if mode == "native":
        return list(entities), []
    kept: list[Entity] = []
    converted: list[Entity] = []
    for entity in entities:
        if is_builtin(str(entity.get("kind", ""))):
            kept.append(entity)
        elif mode == "resource":
            converted.append(as_resource(entity, default_owner))
    if mode == "skip":
        return kept, []
    taken = {entity_ref(e) for e in kept}
    problems: list[str] = []
    for entity in converted:
        ref = entity_ref(entity)
        if ref in taken:
            notes = entity["metadata"]["annotations"]
            kind, name = notes[ORIGINAL_KIND_ANNOTATION], notes[ORIGINAL_NAME_ANNOTATION]
            problems.append(f"{kind} {name} would be published as {ref}, which another entity is; left out")
            continue
        taken.add(ref)
        kept.append(entity)
    return kept, problems
