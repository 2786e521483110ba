"""The packed relation graph: what relate produces and what the store and outputs read from it."""

from __future__ import annotations

import pytest

from openchoreo_sync.relation_graph import RelationGraph
from openchoreo_sync.snapshot import MemorySnapshot


def graph_of(members: list[str], edges: list[tuple[str, str, str]]) -> RelationGraph:
    graph = RelationGraph(members)
    for source, relation_type, target in edges:
        assert graph.relate(source, relation_type, target, None) is not None, f"{source} is a member"
    graph.seal()
    return graph


def test_relations_come_out_sorted_by_type_then_target_without_duplicates() -> None:
    graph = graph_of(
        ["component:default/a", "system:default/s", "group:default/g"],
        [
            ("component:default/a", "partOf", "system:default/s"),
            ("component:default/a", "ownedBy", "group:default/g"),
            ("component:default/a", "dependsOn", "resource:default/z"),
            ("component:default/a", "dependsOn", "resource:default/b"),
            ("component:default/a", "ownedBy", "group:default/g"),
            ("system:default/s", "hasPart", "component:default/a"),
        ],
    )
    assert graph.relations_of("component:default/a") == [
        {"type": "dependsOn", "targetRef": "resource:default/b"},
        {"type": "dependsOn", "targetRef": "resource:default/z"},
        {"type": "ownedBy", "targetRef": "group:default/g"},
        {"type": "partOf", "targetRef": "system:default/s"},
    ]
    assert graph.relations_of("system:default/s") == [{"type": "hasPart", "targetRef": "component:default/a"}]
    assert graph.relations_of("group:default/g") == []
    assert len(graph) == 5, "the duplicate ownedBy is stored once"


def test_targets_outside_the_snapshot_are_not_members() -> None:
    graph = RelationGraph(["component:default/a"])
    assert graph.relate("component:default/a", "dependsOn", "api:default/ghost", None) is False
    assert graph.member_id("api:default/ghost") is None
    assert graph.member_id("component:default/a") == graph.id_of("component:default/a")
    assert graph.relations_of("api:default/ghost") == []


def test_edges_of_neighbouring_ids_never_mix() -> None:
    members = [f"component:default/c{i}" for i in range(300)]
    edges = [(ref, "dependsOn", members[(i + 1) % 300]) for i, ref in enumerate(members)]
    graph = graph_of(members, list(reversed(edges)))
    for i, ref in enumerate(members):
        assert graph.relations_of(ref) == [{"type": "dependsOn", "targetRef": members[(i + 1) % 300]}]


def test_adding_after_sealing_is_seen() -> None:
    graph = graph_of(["a:default/x", "b:default/y"], [("a:default/x", "r", "b:default/y")])
    graph.relate("b:default/y", "q", "a:default/x", None)
    assert graph.relations_of("b:default/y") == [{"type": "q", "targetRef": "a:default/x"}]


def test_too_many_relation_types_is_a_clear_error() -> None:
    graph = RelationGraph(["a:default/x"])
    for number in range(4096):
        graph.relate("a:default/x", f"type{number}", "a:default/x", None)
    with pytest.raises(ValueError, match="distinct relation types"):
        graph.relate("a:default/x", "one-too-many", "a:default/x", None)


def test_with_relations_copies_and_attach_writes_in_place() -> None:
    entity = {"kind": "Component", "metadata": {"name": "a"}}
    graph = graph_of(
        ["component:default/a", "group:default/g"], [("component:default/a", "ownedBy", "group:default/g")]
    )
    copy = graph.with_relations("component:default/a", entity)
    assert copy["relations"] == [{"type": "ownedBy", "targetRef": "group:default/g"}]
    assert "relations" not in entity
    graph.attach({"component:default/a": entity})
    assert entity["relations"] == copy["relations"]


def test_memory_snapshot_hands_out_relations_unless_asked_not_to() -> None:
    entity = {"kind": "Component", "metadata": {"name": "a"}}
    graph = graph_of(
        ["component:default/a", "group:default/g"], [("component:default/a", "ownedBy", "group:default/g")]
    )
    snapshot = MemorySnapshot("run", {"component:default/a": entity}, graph)
    assert snapshot.get("component:default/a") == {**entity, "relations": graph.relations_of("component:default/a")}
    assert dict(snapshot.entities())["component:default/a"]["relations"]
    assert dict(snapshot.entities(with_relations=False))["component:default/a"] is entity


def test_relate_records_the_inverse_only_between_members() -> None:
    graph = RelationGraph(["component:default/a", "system:default/s"])
    assert graph.relate("component:default/a", "partOf", "system:default/s", "hasPart") is True
    assert graph.relate("component:default/a", "dependsOn", "resource:default/gone", "dependencyOf") is False
    assert graph.relate("component:default/outside", "partOf", "system:default/s", "hasPart") is None
    assert graph.relate("system:default/s", "ownedBy", "component:default/a", None) is True
    assert graph.relations_of("component:default/a") == [
        {"type": "dependsOn", "targetRef": "resource:default/gone"},
        {"type": "partOf", "targetRef": "system:default/s"},
    ]
    assert graph.relations_of("system:default/s") == [
        {"type": "hasPart", "targetRef": "component:default/a"},
        {"type": "ownedBy", "targetRef": "component:default/a"},
    ]
    assert graph.relations_of("resource:default/gone") == [], "a dangling target holds no relations"
