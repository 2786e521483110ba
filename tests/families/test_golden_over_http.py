"""Every family's golden cases, served by the mock OpenChoreo API and synced over real HTTP.

The golden files hold API objects and the exact entities the official module makes of them; here
they go through the whole product (client, pagination, joins, map, validation, store) instead of
calling a mapper directly. Relations are checked elsewhere; they are compared out here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from openchoreo_sync.mockapi import KINDS, MockOpenChoreo, World
from openchoreo_sync.model import entity_ref

GOLDEN = Path(__file__).parent / "golden"
COLLECTION_OF = {info.kind: info.collection for info in KINDS.values()}


def world_of(objects: list[tuple[str, str, dict[str, Any]]]) -> World:
    world = World()
    namespaces = {ns for _, ns, _ in objects if ns}
    for ns in sorted(
        namespaces - {name for coll, _, body in objects if coll == "namespaces" for name in [body["metadata"]["name"]]}
    ):
        world.put("namespaces", "", {"metadata": {"name": ns}})
    for collection, namespace, body in objects:
        world.put(collection, namespace, body)
    return world


def platform_cases(family: str) -> tuple[list[tuple[str, str, dict[str, Any]]], list[dict[str, Any]]]:
    cases = yaml.safe_load((GOLDEN / family / "entities.yaml").read_text())
    objects = [
        (COLLECTION_OF[c["resource"]["kind"]], c["resource"].get("namespace") or "", c["resource"]["body"])
        for c in cases
    ]
    return objects, [c["entity"] for c in cases]


def worked_example(family: str) -> tuple[list[tuple[str, str, dict[str, Any]]], list[dict[str, Any]]]:
    data = yaml.safe_load((GOLDEN / family / "worked_example.input.yaml").read_text())
    objects = []
    for collection, items in data.items():
        if collection == "namespace":
            continue
        for body in items:
            namespace = (
                "" if collection == "namespaces" else body["metadata"].get("namespace", data.get("namespace", ""))
            )
            objects.append((collection, namespace, body))
    expected = list(yaml.safe_load_all((GOLDEN / family / "worked_example.expected.yaml").read_text()))
    return objects, [e for e in expected if e]


def without_relations(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k != "relations"}


@pytest.mark.parametrize(
    ("family", "load"),
    [
        ("namespaces", worked_example),
        ("components", worked_example),
        ("component_types", platform_cases),
        ("cluster_kinds", platform_cases),
        ("platform_planes", platform_cases),
    ],
)
async def test_golden_entities_over_http(family, load, sync_harness_factory, tmp_path):
    objects, expected = load(family)
    world = world_of(objects)
    if load is platform_cases:
        # A real API server always sets creationTimestamp (the mock does too); a golden input
        # without one expects "", so expect what the server assigned instead.
        for (collection, namespace, body), entity in zip(objects, expected, strict=True):
            if "creationTimestamp" not in body["metadata"]:
                stored = world.get(collection, namespace, body["metadata"]["name"])
                entity["metadata"]["annotations"]["openchoreo.io/created-at"] = stored["metadata"]["creationTimestamp"]
    with MockOpenChoreo(world=world) as mock:
        harness = sync_harness_factory(mock.url, {"openchoreo": {"safety": {"maxDeletionRatio": 1.0}}})
        result = await harness.run()
    assert not result.summary["failed_collections"] and not result.summary["failed_families"]
    produced = {ref: without_relations(e) for ref, e in result.entities.items()}
    for entity in expected:
        ref = entity_ref(entity)
        assert ref in produced, f"{ref} was not produced; problems: {result.summary['problems']}"
        assert produced[ref] == entity, ref
