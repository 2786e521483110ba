"""The owner groups every published entity names, so no ``ownedBy`` in Backstage dangles.

OpenChoreo has no teams: every entity is owned by ``openchoreo.defaultOwner`` unless a
``backstage.io/owner`` annotation names another group, and no source creates those groups. A
Backstage whose identity sync (an org provider) creates them does not need ours: turn
``ownerGroups`` off there, and groups Backstage already holds from another origin are left out
automatically. Only ``group`` owners are created; a ``user`` owner must come from identity sync.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from openchoreo_sync import Entity, entity_ref, parse_ref

GENERATED_BY_ANNOTATION = "openchoreo.io/generated-by"
GENERATED_BY = "openchoreo-catalog-sync"
OWNER_GROUP_ANNOTATION = "openchoreo.io/owner-group"
"""Marks a Group this output created only because entities name it as their owner."""


def owner_refs(entities: Iterable[Entity]) -> Counter[str]:
    """Group refs named in ``spec.owner`` (Backstage's defaults: kind group, the entity's namespace)."""
    named: Counter[str] = Counter()
    for entity in entities:
        spec = entity.get("spec")
        owner = spec.get("owner") if isinstance(spec, dict) else None
        if not isinstance(owner, str) or not owner:
            continue
        namespace = str((entity.get("metadata") or {}).get("namespace") or "default")
        try:
            kind, ns, name = parse_ref(owner, default_kind="group", default_namespace=namespace)
        except ValueError:
            continue
        if kind.lower() == "group":
            named[f"group:{ns.lower()}/{name}"] += 1
    return named


def group_entity(ref: str, owned: int) -> Entity:
    _, namespace, name = parse_ref(ref)
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "description": f"Owner of {owned} OpenChoreo entit{'y' if owned == 1 else 'ies'}; created by "
            "openchoreo-catalog-sync because no source provides this group",
            "annotations": {GENERATED_BY_ANNOTATION: GENERATED_BY, OWNER_GROUP_ANNOTATION: "true"},
        },
        "spec": {"type": "team", "children": []},
    }


def missing_owner_groups(
    entities: list[Entity], default_owner: str, *, provided_elsewhere: Collection[str] = ()
) -> list[Entity]:
    """Group entities for the default owner and every named owner group nothing else provides."""
    present = {entity_ref(e).lower() for e in entities}
    named = owner_refs(entities)
    try:
        kind, ns, name = parse_ref(default_owner, default_kind="group")
        if kind.lower() == "group":
            named.setdefault(f"group:{ns.lower()}/{name}", 0)
    except ValueError:
        pass
    skip = present | {r.lower() for r in provided_elsewhere}
    out: dict[str, Entity] = {}
    for ref, count in sorted(named.items()):
        if ref.lower() not in skip and ref.lower() not in out:
            out[ref.lower()] = group_entity(ref, count)
    return list(out.values())
