"""cluster_kinds mapping: the golden entities and the cluster-scope rules (pseudo-namespace, defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource
from openchoreo_sync.plugins.component_types.cluster import family as cluster_kinds
from openchoreo_sync.validation import entity_problems

GOLDEN = Path(__file__).parent / "golden" / "cluster_kinds" / "entities.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(GOLDEN.read_text())


def make_ctx() -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})
    return SyncContext(run_id="t", config=config, log=structlog.get_logger())


def map_one(kind: str, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    produced = cluster_kinds.map_resource(resource=Resource(kind, body, namespace), ctx=make_ctx())
    assert produced is not None and len(produced) == 1
    return produced[0]


def test_golden_covers_every_kind() -> None:
    assert {case["resource"]["kind"] for case in CASES} == set(cluster_kinds.mappers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['resource']['kind']}-{c['entity']['metadata']['name']}")
def test_golden_entity(case: dict[str, Any]) -> None:
    resource = case["resource"]
    entity = map_one(resource["kind"], resource["body"], resource.get("namespace"))
    assert entity == case["entity"]
    assert entity_problems(entity) == []


def test_namespaced_twins_are_not_mine() -> None:
    for kind in ("ComponentType", "Trait", "Workflow", "ProjectType", "ResourceType", "ClusterDataPlane"):
        assert (
            cluster_kinds.map_resource(resource=Resource(kind, {"metadata": {"name": "x"}}, "acme"), ctx=make_ctx())
            is None
        )


def test_plugin_info_lists_kinds_and_events() -> None:
    info = cluster_kinds.plugin_info()
    assert info.kinds == (
        "ClusterComponentType",
        "ClusterTraitType",
        "ClusterWorkflow",
        "ClusterProjectType",
        "ClusterResourceType",
    )
    assert ("ClusterTrait", "ClusterTraitType") in info.mapping
    assert info.event_kinds == (
        "clustercomponenttype",
        "clustertrait",
        "clusterworkflow",
        "clusterprojecttype",
        "clusterresourcetype",
    )


@pytest.mark.parametrize("kind", sorted(cluster_kinds.mappers))
def test_cluster_kinds_live_in_the_pseudo_namespace_without_domain(kind: str) -> None:
    # Even when the object (wrongly) names a namespace, a cluster kind is not in it.
    entity = map_one(kind, {"metadata": {"name": "x", "namespace": "acme"}}, namespace="acme")
    assert entity["metadata"]["namespace"] == "openchoreo-cluster"
    assert "domain" not in entity["spec"]
    assert "openchoreo.io/namespace" not in entity["metadata"]["annotations"]
    assert entity["metadata"]["annotations"]["openchoreo.io/created-at"] == ""


def test_cluster_component_type_defaults_workload_type_but_adds_no_tag() -> None:
    entity = map_one("ClusterComponentType", {"metadata": {"name": "c"}})
    assert entity["spec"] == {"workloadType": "deployment"}
    assert entity["metadata"]["tags"] == ["openchoreo", "cluster-component-type", "platform-engineering"]


def test_cluster_component_type_defaults_ref_kinds_to_cluster_kinds() -> None:
    entity = map_one(
        "ClusterComponentType",
        {"metadata": {"name": "c"}, "spec": {"allowedWorkflows": ["a"], "allowedTraits": ["b"]}},
    )
    assert entity["spec"]["allowedWorkflows"] == [{"kind": "ClusterWorkflow", "name": "a"}]
    assert entity["spec"]["allowedTraits"] == [{"kind": "ClusterTrait", "name": "b"}]


def test_cluster_workflow_plane_kind_defaults_to_cluster_workflow_plane() -> None:
    entity = map_one("ClusterWorkflow", {"metadata": {"name": "w"}, "spec": {"workflowPlaneRef": {"name": "p"}}})
    assert entity["spec"] == {
        "type": "Generic",
        "workflowPlaneRef": "p",
        "workflowPlaneRefKind": "ClusterWorkflowPlane",
    }


def test_invalid_name_is_rejected_naming_the_resource_and_rule() -> None:
    with pytest.raises(ValueError, match=r"ClusterTrait bad name: metadata\.name 'bad name' is not a valid"):
        map_one("ClusterTrait", {"metadata": {"name": "bad name"}})
