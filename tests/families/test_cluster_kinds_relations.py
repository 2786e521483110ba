"""cluster_kinds relations (§20.3): ClusterComponentType usesWorkflow, ClusterWorkflow buildsOn; the
other three cluster kinds hold none, and no cluster kind is part of a domain."""

from __future__ import annotations

from typing import Any

import structlog

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource, entity_ref
from openchoreo_sync.plugins.component_types.cluster import family as cluster_kinds
from openchoreo_sync.snapshot import EntityIndex


def make_ctx() -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})
    return SyncContext(run_id="t", config=config, log=structlog.get_logger())


def relations_of(*resources: tuple[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
    ctx = make_ctx()
    entities = [
        e for kind, body in resources for e in cluster_kinds.map_resource(resource=Resource(kind, body), ctx=ctx) or []
    ]
    found = cluster_kinds.relate(entities=EntityIndex({entity_ref(e): e for e in entities}), ctx=ctx)
    return {(r.source, r.type, r.target) for r in found}


def test_cluster_component_type_resolves_every_workflow_in_the_cluster_namespace() -> None:
    body = {
        "metadata": {"name": "cct"},
        "spec": {
            "allowedWorkflows": [
                {"kind": "ClusterWorkflow", "name": "docker"},
                "react",
                "Workflow:namespaced",
                {"name": ""},
            ],
            "allowedTraits": [{"kind": "ClusterTrait", "name": "hpa"}],
        },
    }
    assert relations_of(("ClusterComponentType", body)) == {
        (
            "clustercomponenttype:openchoreo-cluster/cct",
            "usesWorkflow",
            "clusterworkflow:openchoreo-cluster/docker",
        ),
        (
            "clustercomponenttype:openchoreo-cluster/cct",
            "usesWorkflow",
            "clusterworkflow:openchoreo-cluster/react",
        ),
        # Upstream: a namespaced kind from a cluster type still resolves in openchoreo-cluster (dangling).
        (
            "clustercomponenttype:openchoreo-cluster/cct",
            "usesWorkflow",
            "workflow:openchoreo-cluster/namespaced",
        ),
    }


def test_cluster_workflow_always_builds_on_a_cluster_workflow_plane() -> None:
    got = relations_of(
        (
            "ClusterWorkflow",
            {
                "metadata": {"name": "a"},
                "spec": {"workflowPlaneRef": {"kind": "ClusterWorkflowPlane", "name": "ci"}},
            },
        ),
        (
            "ClusterWorkflow",
            {
                "metadata": {"name": "b"},
                "spec": {"workflowPlaneRef": {"kind": "WorkflowPlane", "name": "ci"}},
            },
        ),
        ("ClusterWorkflow", {"metadata": {"name": "c"}, "spec": {}}),
    )
    assert got == {
        ("clusterworkflow:openchoreo-cluster/a", "buildsOn", "clusterworkflowplane:openchoreo-cluster/ci"),
        ("clusterworkflow:openchoreo-cluster/b", "buildsOn", "clusterworkflowplane:openchoreo-cluster/ci"),
    }


def test_traits_project_and_resource_types_hold_no_relations() -> None:
    assert (
        relations_of(
            ("ClusterTrait", {"metadata": {"name": "t"}}),
            ("ClusterProjectType", {"metadata": {"name": "p"}}),
            ("ClusterResourceType", {"metadata": {"name": "r"}}),
        )
        == set()
    )
