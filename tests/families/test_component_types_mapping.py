"""component_types mapping: the golden entities, and the rules a golden file cannot show at a glance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource
from openchoreo_sync.plugins.component_types import family as component_types
from openchoreo_sync.plugins.component_types.allowed_refs import WORKFLOW_KINDS, normalise_allowed
from openchoreo_sync.plugins.component_types.workflow_parameters import repository_parameters
from openchoreo_sync.validation import entity_problems

GOLDEN = Path(__file__).parent / "golden" / "component_types" / "entities.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(GOLDEN.read_text())


def make_ctx() -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})
    return SyncContext(run_id="t", config=config, log=structlog.get_logger())


def map_one(kind: str, body: dict[str, Any], namespace: str | None = "acme") -> dict[str, Any]:
    produced = component_types.map_resource(resource=Resource(kind, body, namespace), ctx=make_ctx())
    assert produced is not None and len(produced) == 1
    return produced[0]


def test_golden_covers_every_kind() -> None:
    assert {case["resource"]["kind"] for case in CASES} == set(component_types.mappers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['resource']['kind']}-{c['entity']['metadata']['name']}")
def test_golden_entity(case: dict[str, Any]) -> None:
    resource = case["resource"]
    entity = map_one(resource["kind"], resource["body"], resource.get("namespace"))
    assert entity == case["entity"]
    assert entity_problems(entity) == []


def test_other_kinds_are_not_mine() -> None:
    for kind in ("Component", "ClusterComponentType", "DataPlane", "Resource"):
        assert (
            component_types.map_resource(resource=Resource(kind, {"metadata": {"name": "x"}}, "acme"), ctx=make_ctx())
            is None
        )


def test_plugin_info_lists_kinds_and_events() -> None:
    info = component_types.plugin_info()
    assert info.kinds == ("ComponentType", "TraitType", "Workflow", "ProjectType", "ResourceType")
    assert ("Trait", "TraitType") in info.mapping
    assert info.event_kinds == ("componenttype", "trait", "workflow", "projecttype", "resourcetype")


def test_namespace_comes_from_the_object_when_the_collection_has_none() -> None:
    entity = map_one("Trait", {"metadata": {"name": "t", "namespace": "team-b"}}, namespace=None)
    assert entity["metadata"]["namespace"] == "team-b"
    assert entity["spec"] == {"domain": "default/team-b"}


def test_workload_type_is_not_defaulted_and_an_invalid_one_is_sanitised_into_a_tag() -> None:
    # One tag rule for every family (the kit's ``entities.tags``): sanitised, never a rejected entity.
    unset = map_one("ComponentType", {"metadata": {"name": "a"}, "spec": {}})
    assert "workloadType" not in unset["spec"]
    assert unset["metadata"]["tags"] == ["openchoreo", "component-type", "platform-engineering"]
    odd = map_one("ComponentType", {"metadata": {"name": "b"}, "spec": {"workloadType": "Deploy Ment"}})
    assert odd["spec"]["workloadType"] == "Deploy Ment"
    assert odd["metadata"]["tags"] == ["openchoreo", "component-type", "deploy-ment", "platform-engineering"]
    assert entity_problems(odd) == []
    hopeless = map_one("ComponentType", {"metadata": {"name": "c"}, "spec": {"workloadType": "!!!"}})
    assert hopeless["metadata"]["tags"] == ["openchoreo", "component-type", "platform-engineering"]


def test_absent_allowed_lists_are_omitted_and_empty_ones_kept() -> None:
    entity = map_one("ComponentType", {"metadata": {"name": "a"}, "spec": {"allowedTraits": []}})
    assert "allowedWorkflows" not in entity["spec"]
    assert entity["spec"]["allowedTraits"] == []


def test_allowed_normalisation_rules() -> None:
    assert normalise_allowed(None, default_kind="Workflow", known_kinds=WORKFLOW_KINDS) is None
    got = normalise_allowed(
        ["Workflow:a:b:c", "Workflow:", "", {"kind": "", "name": "x"}, {"kind": "Workflow"}, 7],
        default_kind="Workflow",
        known_kinds=WORKFLOW_KINDS,
    )
    assert got == [{"kind": "Workflow", "name": "a:b:c"}, {"kind": "Workflow", "name": "x"}]


def test_workflow_type_is_ci_only_for_component_workflows() -> None:
    ci = map_one("Workflow", {"metadata": {"name": "w", "labels": {"openchoreo.dev/workflow-type": "component"}}})
    other = map_one("Workflow", {"metadata": {"name": "w", "labels": {"openchoreo.dev/workflow-type": "Component"}}})
    assert (ci["spec"]["type"], other["spec"]["type"]) == ("CI", "Generic")


def test_workflow_plane_kind_annotation_only_when_the_cr_sets_it() -> None:
    entity = map_one("Workflow", {"metadata": {"name": "w"}, "spec": {"workflowPlaneRef": {"name": "p"}}})
    assert entity["metadata"]["annotations"]["openchoreo.io/workflow-plane-ref"] == "p"
    assert "openchoreo.io/workflow-plane-ref-kind" not in entity["metadata"]["annotations"]
    assert entity["spec"]["workflowPlaneRefKind"] == "WorkflowPlane"


def test_workflow_annotation_order_is_upstreams() -> None:
    body = {
        "metadata": {"name": "w", "deletionTimestamp": "2025-01-01T00:00:00Z"},
        "spec": {
            "workflowPlaneRef": {"kind": "WorkflowPlane", "name": "p"},
            "parameters": {
                "openAPIV3Schema": {"properties": {"u": {"x-openchoreo-component-parameter-repository-url": True}}}
            },
        },
    }
    keys = list(map_one("Workflow", body)["metadata"]["annotations"])
    assert keys[2:] == [
        "openchoreo.io/namespace",
        "openchoreo.io/created-at",
        "openchoreo.dev/component-workflow-parameters",
        "openchoreo.io/deletion-timestamp",
        "openchoreo.io/workflow-plane-ref",
        "openchoreo.io/workflow-plane-ref-kind",
    ]


def test_repository_parameters_prefers_spec_parameters_over_legacy_schema() -> None:
    marked = {"openAPIV3Schema": {"properties": {"a": {"x-openchoreo-component-parameter-repository-url": True}}}}
    legacy = {"ocSchema": {"properties": {"b": {"x-openchoreo-component-parameter-repository-branch": True}}}}
    assert repository_parameters({"parameters": marked, "schema": {"parameters": legacy}}) == "repoUrl: parameters.a"
    assert repository_parameters({"schema": {"parameters": legacy}}) == "branch: parameters.b"
    assert repository_parameters({"parameters": {"openAPIV3Schema": {"type": "object"}}}) is None
    assert repository_parameters({}) is None


def test_retain_policy_is_passed_through_and_defaults_to_delete() -> None:
    assert map_one("ResourceType", {"metadata": {"name": "r"}, "spec": {"retainPolicy": "Orphan"}})["spec"] == {
        "domain": "default/acme",
        "retainPolicy": "Orphan",
    }
    assert map_one("ResourceType", {"metadata": {"name": "r"}})["spec"]["retainPolicy"] == "Delete"


@pytest.mark.parametrize("name", ["", "-bad", "has space", "x" * 64])
def test_invalid_name_is_rejected_naming_the_resource_and_rule(name: str) -> None:
    with pytest.raises(ValueError, match=r"ComponentType acme/.*metadata\.name .* not a valid Backstage entity name"):
        map_one("ComponentType", {"metadata": {"name": name}})


def test_invalid_namespace_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"Trait Team_A/t: namespace 'Team_A' is not a valid Backstage namespace"):
        map_one("Trait", {"metadata": {"name": "t"}}, namespace="Team_A")
