"""platform_planes relations (§20.3): partOf domain for namespaced planes, observedBy for data and
workflow planes (and their cluster twins). hosts/builds are held by Environment and Workflow."""

from __future__ import annotations

from typing import Any

import structlog

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource, entity_ref
from openchoreo_sync.plugins.platform_planes import family as platform_planes
from openchoreo_sync.snapshot import EntityIndex


def make_ctx() -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})
    return SyncContext(run_id="t", config=config, log=structlog.get_logger())


def relations_of(*resources: tuple[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
    ctx = make_ctx()
    entities = []
    for kind, body in resources:
        namespace = None if kind.startswith("Cluster") else "acme"
        entities.extend(platform_planes.map_resource(resource=Resource(kind, body, namespace), ctx=ctx) or [])
    found = platform_planes.relate(entities=EntityIndex({entity_ref(e): e for e in entities}), ctx=ctx)
    return {(r.source, r.type, r.target) for r in found}


def obs(kind: str, name: str) -> dict[str, Any]:
    return {"observabilityPlaneRef": {"kind": kind, "name": name}}


def test_namespaced_planes_are_part_of_the_domain_and_observed() -> None:
    got = relations_of(
        ("DataPlane", {"metadata": {"name": "dp"}, "spec": obs("ObservabilityPlane", "o")}),
        ("WorkflowPlane", {"metadata": {"name": "wp"}, "spec": obs("ObservabilityPlane", "o")}),
        ("ObservabilityPlane", {"metadata": {"name": "o"}, "spec": {}}),
    )
    assert got == {
        ("dataplane:acme/dp", "partOf", "domain:default/acme"),
        ("workflowplane:acme/wp", "partOf", "domain:default/acme"),
        ("observabilityplane:acme/o", "partOf", "domain:default/acme"),
        ("dataplane:acme/dp", "observedBy", "observabilityplane:acme/o"),
        ("workflowplane:acme/wp", "observedBy", "observabilityplane:acme/o"),
    }


def test_namespaced_plane_observed_by_a_cluster_observability_plane_keeps_the_kind() -> None:
    got = relations_of(
        ("DataPlane", {"metadata": {"name": "dp"}, "spec": obs("ClusterObservabilityPlane", "shared")}),
        ("WorkflowPlane", {"metadata": {"name": "wp"}, "spec": obs("ClusterObservabilityPlane", "shared")}),
    )
    assert ("dataplane:acme/dp", "observedBy", "clusterobservabilityplane:openchoreo-cluster/shared") in got
    assert (
        "workflowplane:acme/wp",
        "observedBy",
        "clusterobservabilityplane:openchoreo-cluster/shared",
    ) in got


def test_unset_observability_ref_gives_no_relation() -> None:
    got = relations_of(("DataPlane", {"metadata": {"name": "dp"}}), ("ClusterDataPlane", {"metadata": {"name": "c"}}))
    assert got == {("dataplane:acme/dp", "partOf", "domain:default/acme")}


def test_cluster_planes_are_observed_by_cluster_observability_planes_without_domain() -> None:
    got = relations_of(
        (
            "ClusterDataPlane",
            {"metadata": {"name": "cdp"}, "spec": obs("ClusterObservabilityPlane", "shared")},
        ),
        (
            "ClusterWorkflowPlane",
            {"metadata": {"name": "cwp"}, "spec": obs("ClusterObservabilityPlane", "shared")},
        ),
        ("ClusterObservabilityPlane", {"metadata": {"name": "shared"}}),
    )
    assert got == {
        (
            "clusterdataplane:openchoreo-cluster/cdp",
            "observedBy",
            "clusterobservabilityplane:openchoreo-cluster/shared",
        ),
        (
            "clusterworkflowplane:openchoreo-cluster/cwp",
            "observedBy",
            "clusterobservabilityplane:openchoreo-cluster/shared",
        ),
    }


def test_explicit_ref_strings_are_parsed_and_malformed_ones_skipped() -> None:
    ctx = make_ctx()
    entities = []
    for kind, ref in (("ClusterDataPlane", "observabilityplane:team/o"), ("ClusterWorkflowPlane", "kind:/")):
        (entity,) = platform_planes.map_resource(resource=Resource(kind, {"metadata": {"name": "p"}}), ctx=ctx) or []
        entity["spec"]["observabilityPlaneRef"] = ref
        entities.append(entity)
    found = platform_planes.relate(entities=EntityIndex({entity_ref(e): e for e in entities}), ctx=ctx)
    assert {(r.source, r.type, r.target) for r in found} == {
        ("clusterdataplane:openchoreo-cluster/p", "observedBy", "observabilityplane:team/o")
    }
