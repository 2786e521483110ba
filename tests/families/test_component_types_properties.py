"""Property: any API-shaped namespaced type either maps to an entity Backstage accepts, or is
rejected with a ValueError naming the resource and the broken rule."""

from __future__ import annotations

from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource
from openchoreo_sync.plugins.component_types import family as component_types
from openchoreo_sync.validation import entity_problems

CTX = SyncContext(
    run_id="t",
    config=AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}}),
    log=structlog.get_logger(),
)
valid_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?", fullmatch=True)
names = st.one_of(valid_names, st.text(max_size=70))
namespaces = st.one_of(valid_names, st.text(max_size=10))
values = st.text(max_size=80)
optional_values = st.one_of(st.none(), values)


def _meta(name: str, annotations: dict[str, str], created: str | None, deleting: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "annotations": annotations}
    if created is not None:
        meta["creationTimestamp"] = created
    if deleting is not None:
        meta["deletionTimestamp"] = deleting
    return meta


@st.composite
def type_objects(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(component_types.mappers)))
    annotations = draw(
        st.dictionaries(st.sampled_from(["openchoreo.dev/display-name", "openchoreo.dev/description"]), values)
    )
    spec: dict[str, Any] = {
        "workloadType": draw(optional_values),
        "allowedWorkflows": draw(st.lists(st.one_of(values, st.fixed_dictionaries({"kind": values, "name": values})))),
        "allowedTraits": draw(st.lists(values)),
        "retainPolicy": draw(optional_values),
        "ttlAfterCompletion": draw(optional_values),
        "workflowPlaneRef": {"kind": draw(optional_values), "name": draw(optional_values)},
    }
    labels = {"openchoreo.dev/workflow-type": draw(values)}
    meta = _meta(draw(names), annotations, draw(optional_values), draw(optional_values))
    return kind, {"metadata": {**meta, "labels": labels}, "spec": spec}


@settings(max_examples=300, deadline=None)
@given(obj=type_objects(), namespace=namespaces)
def test_mapped_entities_are_valid_or_rejected_with_a_reason(obj: tuple[str, dict[str, Any]], namespace: str) -> None:
    kind, body = obj
    resource = Resource(kind, body, namespace)
    try:
        produced = component_types.map_resource(resource=resource, ctx=CTX)
    except ValueError as exc:
        assert resource.describe() in str(exc)
        assert "is not a valid Backstage" in str(exc)
        return
    assert produced is not None
    for entity in produced:
        assert entity_problems(entity) == []
        assert all(isinstance(v, str) for v in entity["metadata"]["annotations"].values())
