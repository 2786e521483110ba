"""Read relation endpoints out of mapped entities, the way the upstream processors resolve them.

Each upstream processor resolves a reference held in an entity field with a default kind and a
default namespace (the entity's own, or ``openchoreo-cluster`` for cluster kinds) and lower-cases
the kind. A ``relate`` hook uses these to turn fields into :class:`~openchoreo_sync.Relation`\\ s.

Example::

    from openchoreo_sync.kit import refs

    def relate(entities, ctx):
        for entity in entities.by_kind("Widget"):
            if (domain := refs.part_of_domain(entity)) is not None:
                yield domain
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import relations
from ..model import EntityRef, Relation, entity_ref, make_ref, parse_ref
from .cr import mapping, text
from .entities import CLUSTER_NAMESPACE


def domain_ref_value(namespace: str) -> str:
    """How an entity names its OpenChoreo namespace's Domain: ``default/<ns>`` (Domains live in
    Backstage's ``default`` namespace), the value of ``spec.domain`` / ``spec.system`` parents."""
    return f"default/{namespace}"


def entity_namespace(entity: Mapping[str, Any], *, cluster: bool = False) -> str:
    """The entity's namespace, falling back like upstream when it has none."""
    return text(mapping(entity.get("metadata")).get("namespace")) or (CLUSTER_NAMESPACE if cluster else "default")


def resolve(value: Any, *, default_kind: str, default_namespace: str) -> EntityRef | None:
    """``[kind:][namespace/]name`` as a ref; None for a blank or unparseable value (no relation)."""
    ref = text(value).strip()
    if not ref:
        return None
    try:
        kind, namespace, name = parse_ref(ref, default_kind=default_kind, default_namespace=default_namespace)
    except ValueError:
        return None
    return make_ref(kind, namespace, name)


def part_of_domain(entity: Mapping[str, Any]) -> Relation | None:
    """``partOf`` the namespace Domain named by ``spec.domain`` (``default/<ns>``)."""
    target = resolve(
        mapping(entity.get("spec")).get("domain"),
        default_kind="domain",
        default_namespace=entity_namespace(entity),
    )
    return Relation(entity_ref(entity), relations.PART_OF, target) if target else None
