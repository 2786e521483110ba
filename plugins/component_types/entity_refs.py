"""Reading relation endpoints out of mapped platform entities, the way the upstream processors do.

Each upstream processor resolves a reference held in an entity field with a default kind and a
default namespace (the entity's own, or ``openchoreo-cluster`` for cluster kinds) and lower-cases
the kind. These helpers are that resolution, shared by the three platform families' ``relate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync import relations
from openchoreo_sync.model import EntityRef, Relation, entity_ref, make_ref, parse_ref

from .envelope import CLUSTER_NAMESPACE, text


def entity_namespace(entity: Mapping[str, Any], *, cluster: bool = False) -> str:
    """The entity's namespace, falling back like upstream when it has none."""
    return text(entity["metadata"].get("namespace")) or (CLUSTER_NAMESPACE if cluster else "default")


def resolve(value: Any, *, default_kind: str, default_namespace: str) -> EntityRef | None:
    """``[kind:][namespace/]name`` as a ref; None for a blank or unparseable value (no relation)."""
    ref = text(value)
    if not ref or not ref.strip():
        return None
    try:
        kind, namespace, name = parse_ref(ref.strip(), default_kind=default_kind, default_namespace=default_namespace)
    except ValueError:
        return None
    return make_ref(kind, namespace, name)


def part_of_domain(entity: Mapping[str, Any]) -> Relation | None:
    """``partOf`` the namespace Domain named by ``spec.domain`` (``default/<ns>``)."""
    target = resolve(
        entity.get("spec", {}).get("domain"),
        default_kind="domain",
        default_namespace=entity_namespace(entity),
    )
    return Relation(entity_ref(entity), relations.PART_OF, target) if target else None
