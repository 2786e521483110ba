"""A write serialised with the relation graph's relations is what serialising the whole entity gives.

``iter_writes`` skips walking the graph's relations when the graph holds only exact ``str`` names
(``RelationGraph.relations_plain``); the text, hash and plain-data answer (``EntityWrite.plain``,
which decides whether a first commit may use staged rows) must stay those of
``serialize_checked`` on the entity with its relations, whatever the entity and the names hold.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync.relation_graph import RelationGraph
from openchoreo_sync.serialization import iter_writes, serialize_checked
from openchoreo_sync.snapshot import ChangeSet


class Name(str):
    pass


names = st.sampled_from(["ownedBy", "partOf", "dependsOn"]) | st.builds(Name, st.sampled_from(["ownedBy", "x"]))
leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-1, 1), st.text(max_size=3))
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=2).map(tuple)
        | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)
entities = st.dictionaries(
    st.sampled_from(["apiVersion", "kind", "metadata", "spec", "relations", "status"]), values, max_size=5
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(entities, min_size=1, max_size=4),
    st.lists(
        st.tuples(st.integers(0, 3), names, st.integers(0, 4) | st.builds(Name, st.just("group:a/b"))), max_size=6
    ),
)
def test_writes_are_the_whole_entity_serialised(listed: list[dict[str, Any]], edges: list[tuple[Any, ...]]) -> None:
    snapshot = {f"component:default/e{n}": entity for n, entity in enumerate(listed)}
    refs = list(snapshot)
    graph = RelationGraph(refs)
    for source, relation_type, target in edges:
        target_ref = target if isinstance(target, str) else f"component:default/e{target}"
        graph.relate(refs[source % len(refs)], relation_type, target_ref, "hasPart")
    graph.seal()
    writes = list(iter_writes(snapshot, {}, lambda ref: ("c", "f", ""), ChangeSet(), relations=graph))
    assert [w.ref for w in writes] == refs
    for write in writes:
        expected = serialize_checked(graph.with_relations(write.ref, snapshot[write.ref]))
        assert (write.body, write.hash, write.plain) == expected
        assert write.entity == graph.with_relations(write.ref, snapshot[write.ref])


def test_writes_in_ref_order_are_the_same_writes_sorted_by_ref() -> None:
    """``in_ref_order`` (what ``Commit.in_ref_order`` promises the store): every write, in
    ascending ref order, whatever order the mapping holds them in; the change set in that order."""
    refs = ["component:default/b", "api:default/z", "component:default/a", "component:default/\u00e9"]
    entities: dict[Any, Any] = {ref: {"kind": ref.split(":")[0], "metadata": {"name": ref[-1:]}} for ref in refs}
    origin = lambda ref: ("c", "f", "s")  # noqa: E731
    as_held, in_order = ChangeSet(), ChangeSet()
    held = list(iter_writes(entities, {}, origin, as_held))
    ordered = list(iter_writes(entities, {}, origin, in_order, in_ref_order=True))
    assert [w.ref for w in held] == refs
    assert [w.ref for w in ordered] == sorted(refs) == in_order.added
    assert sorted(held, key=lambda w: w.ref) == ordered
