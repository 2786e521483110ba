"""The commit's per-entity shortcuts give what the plain definitions give.

``served.spliceable`` builds the opening of a usual entity (``apiVersion`` and ``kind`` the only
keys before ``metadata``) without sorting its keys, and ``search.relation_rows`` looks each
relation type's key up in a table; both are checked here against the definitions they replace,
written out below, on generated entities (pure functions: no store needed).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync.search import own_rows, relation_rows, search_rows
from openchoreo_sync.serialization import canonical_json
from openchoreo_sync.store.served import METADATA_OPENING, served_etag


def reference_etag(entity: dict[str, Any], body: str) -> str | None:
    """``served_etag`` as defined: the keys before ``metadata`` re-encoded in sorted order."""
    metadata = entity.get("metadata")
    if type(metadata) is not dict or not metadata or "uid" in metadata or "etag" in metadata:
        return None
    if "relations" not in entity:
        return None

    def dumps(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    before = sorted(key for key in entity if key < "metadata")
    opening = "{" + "".join(f"{dumps(key)}:{dumps(entity[key])}," for key in before) + METADATA_OPENING
    if not body.startswith(opening) or body.find(METADATA_OPENING) != len(opening) - len(METADATA_OPENING):
        return None
    return hashlib.sha1(body.encode("utf-8")).hexdigest()


def reference_relation_rows(entity: dict[str, Any]) -> list[tuple[str, str | None]]:
    rows: dict[tuple[str, str | None], None] = {}
    for relation in entity.get("relations", ()):
        rows[(f"relations.{relation['type']}".lower(), str(relation["targetRef"]).lower())] = None
    return list(rows)


class Shouting(str):
    """A text whose ``str()`` differs from its value (what a cache keyed by value must not keep)."""

    def __str__(self) -> str:
        return self.upper() + "!"

    def __format__(self, spec: str) -> str:
        return str(self)


texts = st.sampled_from(["backstage.io/v1alpha1", "Component", 'a"b', "é\u2028", "metadata", "x"]) | st.text(max_size=5)
small = st.one_of(texts, st.integers(-3, 3), st.none(), st.booleans(), st.lists(texts, max_size=2))
top_keys = st.sampled_from(
    ["apiVersion", "kind", "spec", "status", "relations", "attachments", "Kind", "aaa", "zzz", "metadatA", ""]
)
metadata = st.one_of(
    st.fixed_dictionaries({"name": texts}, optional={"uid": texts, "etag": texts, "namespace": texts}),
    st.just({}),
    texts,
)


@st.composite
def entities(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly usual entities (the shortcut's case), with one or two twists each often enough."""
    entity: dict[str, Any] = {
        "apiVersion": draw(texts),
        "kind": draw(texts),
        "metadata": {"name": draw(texts)},
        "relations": [{"type": "ownedBy", "targetRef": "group:default/a"}],
    }
    entity.update(draw(st.dictionaries(top_keys, small, max_size=2)))
    twist = draw(st.integers(0, 6))
    if twist == 1:
        entity["kind"] = draw(st.one_of(st.integers(0, 2), st.builds(Shouting, texts)))
    elif twist == 2:
        entity.pop(draw(st.sampled_from(["apiVersion", "kind", "relations"])))
    elif twist == 3:
        entity["metadata"] = draw(metadata)
    return entity


@settings(max_examples=400, deadline=None)
@given(entities())
def test_served_etag_is_the_defined_one(entity: dict[str, Any]) -> None:
    body = canonical_json(entity)
    assert served_etag(entity, body) == reference_etag(entity, body)


@settings(max_examples=200, deadline=None)
@given(entities(), st.sampled_from(['{"x":1}', '{"apiVersion":"v","metadata":{}}']))
def test_served_etag_refuses_other_bodies_as_defined(entity: dict[str, Any], body: str) -> None:
    assert served_etag(entity, body) == reference_etag(entity, body)


relation_types = st.one_of(
    st.sampled_from(["ownedBy", "ownerOf", "partOf", "dependsOn", "OWNEDBY"]),
    st.text(max_size=4),
    st.builds(Shouting, st.sampled_from(["ownedBy", "partOf"])),
    st.integers(0, 3),
)
targets = st.one_of(st.sampled_from(["group:default/A", "group:default/a", "Ünit:x/Y"]), st.integers(0, 2))
relations = st.lists(st.fixed_dictionaries({"type": relation_types, "targetRef": targets}), max_size=6)


@settings(max_examples=400, deadline=None)
@given(st.lists(relations, min_size=1, max_size=4))
def test_relation_rows_are_the_defined_ones(lists: list[list[dict[str, Any]]]) -> None:
    """Several entities in a row: a type's key remembered from one entity serves the next ones."""
    for listed in lists:
        entity = {"kind": "Component", "metadata": {"name": "a"}, "relations": listed}
        assert relation_rows(entity) == reference_relation_rows(entity)
        own = list(own_rows(entity))
        assert search_rows(entity) == own + [row for row in reference_relation_rows(entity) if row not in own]


def test_a_text_type_with_its_own_str_does_not_name_the_plain_type() -> None:
    shouted = {"relations": [{"type": Shouting("partOf"), "targetRef": "system:default/s"}]}
    plain = {"relations": [{"type": "partOf", "targetRef": "system:default/s"}]}
    assert relation_rows(shouted) == [("relations.partof!", "system:default/s")]
    assert relation_rows(plain) == [("relations.partof", "system:default/s")]
