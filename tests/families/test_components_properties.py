"""Property: whatever names and annotation values OpenChoreo holds, the components family emits only
entities Backstage accepts, or rejects the one resource with a ValueError naming it and the rule."""

from __future__ import annotations

from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync import Resource, SyncContext
from openchoreo_sync.config import AppConfig
from openchoreo_sync.plugins import components as plugin
from openchoreo_sync.plugins.components.joins import join_components, join_resources
from openchoreo_sync.validation import entity_problems

CTX = SyncContext(
    run_id="prop",
    config=AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}}),
    log=structlog.get_logger(),
)

k8s_names = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,80}[a-z0-9])?", fullmatch=True)
names = st.one_of(k8s_names, st.text(max_size=70))
values = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", "  ", "group:default/x", "Team A"]))
types = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["deployment/service", "a/b/c", "Web App", "-"]))


def annotations(display: str | None, description: str | None, owner: str | None) -> dict[str, str]:
    pairs = {
        "openchoreo.dev/display-name": display,
        "openchoreo.dev/description": description,
        "backstage.io/owner": owner,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def check(resource: Resource) -> None:
    try:
        entities = plugin.map_resource(resource=resource, ctx=CTX)
    except ValueError as exc:
        assert resource.describe() in str(exc)
        return
    assert entities
    for entity in entities:
        assert entity_problems(entity) == [], entity
    provided = entities[0]["spec"].get("providesApis", [])
    assert provided == [e["metadata"]["name"] for e in entities if e["kind"] == "API"]


@settings(max_examples=150, deadline=None)
@given(
    name=names,
    project=names,
    namespace=names,
    endpoints=st.lists(names, max_size=3),
    display=values,
    description=values,
    owner=values,
    project_owner=values,
    component_type=types,
    schema_type=types,
)
def test_every_entity_is_valid_or_rejected_with_a_reason(
    name: str,
    project: str,
    namespace: str,
    endpoints: list[str],
    display: str | None,
    description: str | None,
    owner: str | None,
    project_owner: str | None,
    component_type: str | None,
    schema_type: str | None,
) -> None:
    meta = {"namespace": namespace, "annotations": annotations(display, description, owner)}
    project_body = {
        "metadata": {
            "name": project,
            **meta,
            "annotations": annotations(display, description, project_owner),
        },
        "spec": {"type": {"name": component_type}, "deploymentPipelineRef": {"name": schema_type}},
    }
    component = {
        "metadata": {"name": name, **meta},
        "spec": {"owner": {"projectName": project}, "componentType": {"name": component_type}},
    }
    workload: dict[str, Any] = {
        "metadata": {"name": name},
        "spec": {
            "owner": {"projectName": project, "componentName": name},
            "endpoints": {
                e: {
                    "type": "HTTP",
                    "port": 80,
                    "visibility": ["external"],
                    "schema": {"type": schema_type, "content": "x"},
                }
                for e in endpoints
            },
            "dependencies": {
                "endpoints": [{"component": name, "name": e} for e in endpoints],
                "resources": [{"ref": e} for e in endpoints],
            },
        },
    }
    resource = {
        "metadata": {"name": name, **meta},
        "spec": {"owner": {"projectName": project}, "type": {"name": component_type}},
    }
    check(Resource("Project", project_body, namespace))
    for joined in join_components(namespace, [component], [workload], [project_body]):
        check(joined)
    for joined in join_resources(namespace, [resource], [project_body]):
        check(joined)
