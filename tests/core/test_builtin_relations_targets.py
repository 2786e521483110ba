"""The built-in relations remember each normalised target per call; the refs must be what parsing gives.

``builtin_relations.relate`` parses each distinct (target, default kind, namespace) once and
empties its table when full. These compare every relation it yields with a fresh
``normalize_ref`` of the same spec value: the same target from two namespaces, a target that
does not parse (dropped every time), and a table far smaller than the world.
"""

from __future__ import annotations

from typing import Any

import pytest

from openchoreo_sync import builtin_relations
from openchoreo_sync.model import Relation, entity_ref, normalize_ref
from openchoreo_sync.snapshot import EntityIndex

TARGETS = ["team-a", "group:other/team-b", "default/team-c", "team-a", ":", "user:nobody/", "shop"]


def world() -> dict[str, dict[str, Any]]:
    entities: dict[str, dict[str, Any]] = {}
    for index in range(40):
        namespace = f"ns-{index % 3}"
        entity = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": f"c{index}", "namespace": namespace},
            "spec": {
                "owner": TARGETS[index % len(TARGETS)],
                "system": "shop",
                "providesApis": [f"api-{index}", "shared", ""],
                "dependsOn": ["resource:db", "bad:", TARGETS[(index + 1) % len(TARGETS)]],
            },
        }
        entities[entity_ref(entity)] = entity
    return entities


def expected(entities: dict[str, dict[str, Any]]) -> list[Relation]:
    out = []
    for ref, entity in entities.items():
        spec, namespace = entity["spec"], entity["metadata"]["namespace"]
        for field_name, default_kind, relation_type in builtin_relations._FIELDS["component"]:
            value = spec.get(field_name)
            for target in [value] if isinstance(value, str) else value or []:
                if not target:
                    continue
                try:
                    out.append(Relation(ref, relation_type, normalize_ref(target, default_kind=default_kind,
                                                                          default_namespace=namespace)))  # fmt: skip
                except ValueError:
                    continue
    return out


@pytest.mark.parametrize("table", [4_096, 3, 1])
def test_every_relation_is_what_parsing_gives(table: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtin_relations, "_NORMALISED_MAX", table)
    entities = world()
    relations = list(builtin_relations.relate(EntityIndex(entities)))
    assert relations == expected(entities)
    assert Relation("component:ns-1/c1", "ownedBy", "group:other/team-b") in relations
    assert Relation("component:ns-0/c0", "ownedBy", "group:ns-0/team-a") in relations
    assert Relation("component:ns-0/c3", "ownedBy", "group:ns-0/team-a") in relations
    assert Relation("component:ns-1/c7", "ownedBy", "group:ns-1/team-a") in relations
