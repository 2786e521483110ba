"""Entities served from their stored JSON text equal the decoded-and-decorated ones.

The store precomputes an etag only for bodies the read API may splice (``store/served.py``); the
read API then serves the stored text with ``etag`` and ``uid`` spliced into ``metadata``. Whatever
the path, a client must get the same entity it got when every body was decoded, decorated with
``identity.with_identity`` and encoded again.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openchoreo_sync.model import entity_ref
from openchoreo_sync.plugins.embedded_catalog.facets import FacetCache
from openchoreo_sync.plugins.embedded_catalog.identity import UID_NAMESPACE, uid_for, with_identity
from openchoreo_sync.plugins.embedded_catalog.lookup import by_name, by_refs
from openchoreo_sync.plugins.embedded_catalog.serialize import entities_array
from openchoreo_sync.serialization import serialize
from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
from openchoreo_sync.store.sql import utcnow
from openchoreo_sync.store.sqlite import SqliteStore

RELATIONS = [{"type": "ownedBy", "targetRef": "group:default/team"}]


def entity(name: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "annotations": {"x/y": 'quote " and \\ slash'}},
        "spec": {"type": "service", "owner": "team", "nested": {"metadata": {"name": "not-this-one"}}},
        "relations": RELATIONS,
    }
    return {**base, **extra}


ENTITIES = [
    entity("plain"),
    entity("Mixed-Case"),
    entity("unicode", metadata={"name": "unicode", "title": "Zürich ☃"}),
    entity("own-uid", metadata={"name": "own-uid", "uid": "u-1", "etag": "e-1"}),
    {k: v for k, v in entity("no-relations").items() if k != "relations"},
    entity("early-object", attachments={"metadata": {"name": "sorted-before-metadata"}}),
]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = SqliteStore(tmp_path / "state.sqlite3")
    store.migrate()
    writes = [EntityWrite(entity_ref(e), e, *serialize(e), "c", "f", False) for e in ENTITIES]
    store.commit(Commit(RunRecord("r1", utcnow(), utcnow(), "ok"), writes=writes))
    yield store
    store.close()


def expected(e: dict[str, Any]) -> dict[str, Any]:
    """The entity as the read API served it before bodies were spliced (decode, decorate)."""
    served: dict[str, Any] = json.loads(json.dumps(with_identity(entity_ref(e), json.loads(serialize(e)[0]))))
    return served


def test_spliced_and_decoded_entities_are_the_same(store: Any) -> None:
    refs = [entity_ref(e) for e in ENTITIES]
    spliced = [etag for _body, etag in store.load_served(refs).values() if etag is not None]
    assert len(spliced) == 3, "plain, Mixed-Case and unicode are spliced; the others are decoded"
    assert json.loads(entities_array(store, refs, None)) == [expected(e) for e in ENTITIES]
    assert json.loads(by_refs(store, [r.upper() for r in refs], None, None))["items"] == [expected(e) for e in ENTITIES]
    assert json.loads(by_name(store, "COMPONENT", "Default", "mixed-case")) == expected(ENTITIES[1])
    projected = json.loads(entities_array(store, refs[:1], ["metadata.etag", "metadata.uid"]))
    assert projected == [{"metadata": {k: expected(ENTITIES[0])["metadata"][k] for k in ("etag", "uid")}}]


@given(st.text())
def test_uids_are_the_uuid5_of_the_lower_cased_ref(ref: str) -> None:
    """Served uids are computed without ``uuid.uuid5`` (for speed) and must stay what it gives."""
    assert uid_for(ref) == str(uuid.uuid5(UID_NAMESPACE, ref.lower()))
    assert uid_for("Component:Default/Mixed-Case") == str(uuid.uuid5(UID_NAMESPACE, "component:default/mixed-case"))


def test_facet_answers_are_cached_per_snapshot(store: Any) -> None:
    """The same facets twice cost one query; a commit in between gives the new snapshot's answer."""
    cache = FacetCache()
    counted: list[int] = []
    real = store.facet_counts
    store.facet_counts = lambda *args: counted.append(1) or real(*args)
    first = json.loads(cache.answer(store, ["kind", "metadata.name"], None))
    assert first["facets"]["kind"] == [{"value": "Component", "count": len(ENTITIES)}]
    assert json.loads(cache.answer(store, ["kind", "metadata.name"], None)) == first and len(counted) == 1
    scoped = json.loads(cache.answer(store, ["kind"], [[("metadata.name", ["plain"])]]))
    assert scoped["facets"]["kind"] == [{"value": "Component", "count": 1}] and len(counted) == 2
    api = {**entity("svc-api"), "kind": "API"}
    store.commit(
        Commit(
            RunRecord("r2", utcnow(), utcnow(), "ok"),
            writes=[EntityWrite("api:default/svc-api", api, *serialize(api), "c", "f", False)],
        )
    )
    after = json.loads(cache.answer(store, ["kind", "metadata.name"], None))
    assert after["facets"]["kind"] == [{"value": "API", "count": 1}, {"value": "Component", "count": len(ENTITIES)}]
    assert len(counted) == 3
