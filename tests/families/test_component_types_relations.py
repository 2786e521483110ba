"""component_types relations (mapping-entities-platform.md §20.3): partOf domain, usesWorkflow, buildsOn.

Only the forward direction is reported; the core adds the inverses.
"""

from __future__ import annotations

from typing import Any

import structlog

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Relation, Resource, entity_ref
from openchoreo_sync.plugins.component_types import family as component_types
from openchoreo_sync.snapshot import EntityIndex


def make_ctx() -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})
    return SyncContext(run_id="t", config=config, log=structlog.get_logger())


def relations_of(*resources: tuple[str, dict[str, Any]], namespace: str = "acme") -> set[tuple[str, str, str]]:
    ctx = make_ctx()
    entities = []
    for kind, body in resources:
        produced = component_types.map_resource(resource=Resource(kind, body, namespace), ctx=ctx)
        assert produced is not None
        entities.extend(produced)
    index = EntityIndex({entity_ref(e): e for e in entities})
    found = component_types.relate(entities=index, ctx=ctx)
    assert all(isinstance(r, Relation) for r in found)
    return {(r.source, r.type, r.target) for r in found}


def test_every_namespaced_kind_is_part_of_its_namespace_domain() -> None:
    kinds = ("ComponentType", "Trait", "Workflow", "ProjectType", "ResourceType")
    got = relations_of(*((kind, {"metadata": {"name": f"n-{kind.lower()}"}}) for kind in kinds), namespace="team-a")
    assert got == {
        ("componenttype:team-a/n-componenttype", "partOf", "domain:default/team-a"),
        ("traittype:team-a/n-trait", "partOf", "domain:default/team-a"),
        ("workflow:team-a/n-workflow", "partOf", "domain:default/team-a"),
        ("projecttype:team-a/n-projecttype", "partOf", "domain:default/team-a"),
        ("resourcetype:team-a/n-resourcetype", "partOf", "domain:default/team-a"),
    }


def test_component_type_uses_workflows_resolved_by_kind() -> None:
    body = {
        "metadata": {"name": "svc"},
        "spec": {
            "allowedWorkflows": [
                {"kind": "ClusterWorkflow", "name": "docker"},
                {"kind": "Workflow", "name": "buildpacks"},
                "ComponentWorkflow:legacy",
                "bare",
                {"kind": "Workflow", "name": ""},
            ],
            "allowedTraits": [{"kind": "Trait", "name": "ingress"}, {"kind": "ClusterTrait", "name": "hpa"}],
        },
    }
    got = relations_of(("ComponentType", body))
    assert got == {
        ("componenttype:acme/svc", "partOf", "domain:default/acme"),
        ("componenttype:acme/svc", "usesWorkflow", "clusterworkflow:openchoreo-cluster/docker"),
        ("componenttype:acme/svc", "usesWorkflow", "workflow:acme/buildpacks"),
        ("componenttype:acme/svc", "usesWorkflow", "componentworkflow:acme/legacy"),
        ("componenttype:acme/svc", "usesWorkflow", "workflow:acme/bare"),
    }, "allowedTraits yields no relation; an empty name is skipped"


def test_uses_workflow_lower_cases_the_kind_but_keeps_the_name() -> None:
    body = {
        "metadata": {"name": "svc"},
        "spec": {"allowedWorkflows": [{"kind": "CLUSTERWORKFLOW", "name": "Docker"}]},
    }
    assert (
        "componenttype:acme/svc",
        "usesWorkflow",
        "clusterworkflow:openchoreo-cluster/Docker",
    ) in relations_of(("ComponentType", body))


def test_workflow_builds_on_its_plane_from_the_annotations() -> None:
    def plane(ref: dict[str, Any] | None) -> set[tuple[str, str, str]]:
        spec = {"workflowPlaneRef": ref} if ref is not None else {}
        got = relations_of(("Workflow", {"metadata": {"name": "wf"}, "spec": spec}))
        return {r for r in got if r[1] == "buildsOn"}

    assert plane({"kind": "WorkflowPlane", "name": "ci"}) == {("workflow:acme/wf", "buildsOn", "workflowplane:acme/ci")}
    assert plane({"name": "ci"}) == {("workflow:acme/wf", "buildsOn", "workflowplane:acme/ci")}
    assert plane({"kind": "ClusterWorkflowPlane", "name": "shared"}) == {
        ("workflow:acme/wf", "buildsOn", "clusterworkflowplane:openchoreo-cluster/shared")
    }
    assert plane({"kind": "DataPlane", "name": "x"}) == set(), "a kind that is not a workflow plane: no relation"
    assert plane(None) == set()
    assert plane({"kind": "WorkflowPlane", "name": ""}) == set()


def test_builds_on_trims_and_lower_cases_the_kind_annotation() -> None:
    ctx = make_ctx()
    (entity,) = component_types.map_resource(
        resource=Resource("Workflow", {"metadata": {"name": "wf"}}, "acme"), ctx=ctx
    )
    entity["metadata"]["annotations"]["openchoreo.io/workflow-plane-ref"] = "  shared "
    entity["metadata"]["annotations"]["openchoreo.io/workflow-plane-ref-kind"] = " ClusterWorkflowPlane "
    got = component_types.relate(entities=EntityIndex({entity_ref(entity): entity}), ctx=ctx)
    assert Relation("workflow:acme/wf", "buildsOn", "clusterworkflowplane:openchoreo-cluster/shared") in got


def test_relations_ignore_kinds_of_other_families() -> None:
    foreign = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "ClusterComponentType",
        "metadata": {"name": "x", "namespace": "openchoreo-cluster"},
        "spec": {"allowedWorkflows": [{"kind": "ClusterWorkflow", "name": "docker"}]},
    }
    assert component_types.relate(entities=EntityIndex({entity_ref(foreign): foreign}), ctx=make_ctx()) == []
