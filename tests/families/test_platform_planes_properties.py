"""Property: any API-shaped plane either maps to an entity Backstage accepts, or is rejected with a
ValueError naming the resource and the broken rule."""

from __future__ import annotations

from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource
from openchoreo_sync.plugins.platform_planes import family as platform_planes
from openchoreo_sync.validation import entity_problems

CTX = SyncContext(
    run_id="t",
    config=AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}}),
    log=structlog.get_logger(),
)
valid_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?", fullmatch=True)
names = st.one_of(valid_names, st.text(max_size=70))
values = st.text(max_size=80)
optional_values = st.one_of(st.none(), values)
counts = st.one_of(st.none(), st.integers(-5, 10**6), st.floats(allow_nan=True), values)


@st.composite
def planes(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(platform_planes.mappers)))
    meta: dict[str, Any] = {
        "name": draw(names),
        "annotations": draw(
            st.dictionaries(st.sampled_from(["openchoreo.dev/display-name", "openchoreo.dev/description"]), values)
        ),
        "creationTimestamp": draw(optional_values),
        "deletionTimestamp": draw(optional_values),
    }
    listener = st.fixed_dictionaries({}, optional={"host": values, "port": st.integers(0, 70000)})
    endpoint = st.fixed_dictionaries(
        {"name": values, "namespace": values}, optional={"http": listener, "https": listener}
    )
    spec: dict[str, Any] = {
        "observabilityPlaneRef": {
            "kind": draw(st.sampled_from(["ObservabilityPlane", "ClusterObservabilityPlane", ""])),
            "name": draw(optional_values),
        },
        "observerURL": draw(optional_values),
        "gateway": {"ingress": draw(st.fixed_dictionaries({}, optional={"external": endpoint, "internal": endpoint}))},
    }
    status = {
        "conditions": [{"type": draw(st.sampled_from(["Created", "Ready"])), "status": draw(values)}],
        "agentConnection": {
            "connected": draw(st.one_of(st.none(), st.booleans(), values)),
            "connectedAgents": draw(counts),
            "lastConnectedTime": draw(optional_values),
        },
    }
    return kind, {"metadata": meta, "spec": spec, "status": status}


@settings(max_examples=300, deadline=None)
@given(obj=planes(), namespace=st.one_of(valid_names, st.text(max_size=10)))
def test_mapped_entities_are_valid_or_rejected_with_a_reason(obj: tuple[str, dict[str, Any]], namespace: str) -> None:
    kind, body = obj
    resource = Resource(kind, body, namespace)
    try:
        produced = platform_planes.map_resource(resource=resource, ctx=CTX)
    except ValueError as exc:
        assert resource.describe() in str(exc)
        assert "is not a valid Backstage" in str(exc)
        return
    assert produced is not None
    for entity in produced:
        assert entity_problems(entity) == []
        assert all(isinstance(v, str) for v in entity["metadata"]["annotations"].values())
