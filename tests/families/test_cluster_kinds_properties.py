"""Property: any API-shaped cluster type either maps to an entity Backstage accepts, or is rejected
with a ValueError naming the resource and the broken rule."""

from __future__ import annotations

from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource
from openchoreo_sync.plugins.component_types.cluster import family as cluster_kinds
from openchoreo_sync.validation import entity_problems

CTX = SyncContext(
    run_id="t",
    config=AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}}),
    log=structlog.get_logger(),
)
names = st.one_of(st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,40}[a-z0-9])?", fullmatch=True), st.text(max_size=70))
values = st.text(max_size=80)
optional_values = st.one_of(st.none(), values)


@st.composite
def cluster_objects(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(cluster_kinds.mappers)))
    meta: dict[str, Any] = {
        "name": draw(names),
        "annotations": draw(
            st.dictionaries(st.sampled_from(["openchoreo.dev/display-name", "openchoreo.dev/description"]), values)
        ),
        "labels": {"openchoreo.dev/workflow-type": draw(values)},
        "creationTimestamp": draw(optional_values),
        "deletionTimestamp": draw(optional_values),
    }
    spec: dict[str, Any] = {
        "workloadType": draw(optional_values),
        "allowedWorkflows": draw(st.lists(st.fixed_dictionaries({"kind": values, "name": values}))),
        "allowedTraits": draw(st.lists(st.one_of(values, st.none()))),
        "retainPolicy": draw(optional_values),
        "workflowPlaneRef": {"kind": draw(optional_values), "name": draw(optional_values)},
    }
    return kind, {"metadata": meta, "spec": spec}


@settings(max_examples=300, deadline=None)
@given(obj=cluster_objects())
def test_mapped_entities_are_valid_or_rejected_with_a_reason(obj: tuple[str, dict[str, Any]]) -> None:
    kind, body = obj
    resource = Resource(kind, body)
    try:
        produced = cluster_kinds.map_resource(resource=resource, ctx=CTX)
    except ValueError as exc:
        assert resource.describe() in str(exc)
        assert "is not a valid Backstage entity name" in str(exc)
        return
    assert produced is not None
    for entity in produced:
        assert entity_problems(entity) == []
        assert entity["metadata"]["namespace"] == "openchoreo-cluster"
