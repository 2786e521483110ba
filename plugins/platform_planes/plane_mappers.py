"""Entities for the planes (data, workflow, observability), namespaced and cluster-scoped.

A namespaced plane and its ``Cluster*`` twin differ in namespace, domain, words and how the
observability-plane reference is written, so one function per plane kind takes the scope.
``cluster=True`` means: entity in ``openchoreo-cluster``, no domain, no namespace annotation, and a
bare observability-plane name (cluster planes may only point at a ClusterObservabilityPlane).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit import Entity, Resource, SyncContext, cr, entities, refs

from .gateway import ingress_gateway
from .plane_status import STATUS, agent_annotations, readiness

FIRST_TAG = "openchoreo"
PLANE_TAIL_TAG = "infrastructure"
"""Last tag of every plane kind."""

OBSERVABILITY_PLANE_REF = "openchoreo.io/observability-plane-ref"
OBSERVER_URL = "openchoreo.io/observer-url"


def namespaced_observability_ref(spec: Mapping[str, Any], namespace: str) -> str:
    """A namespaced plane's observability-plane reference, always a string (``""`` when unset).

    ``<ns>/<name>`` for an ObservabilityPlane, as upstream. Upstream drops the ref's kind, so a
    ClusterObservabilityPlane turned into a dangling ``observabilityplane:<ns>/<name>``; here it is
    the full ref ``clusterobservabilityplane:openchoreo-cluster/<name>``, which the relation step and
    Backstage's ref parser both resolve to the cluster plane.
    """
    ref = cr.mapping(spec.get("observabilityPlaneRef"))
    name = cr.text(ref.get("name"))
    if not name:
        return ""
    if "/" in name:
        return name
    if ref.get("kind") == "ClusterObservabilityPlane":
        return f"clusterobservabilityplane:{entities.CLUSTER_NAMESPACE}/{name}"
    return f"{namespace}/{name}"


def _plane(
    resource: Resource,
    *,
    cluster: bool,
    kind: str,
    tag: str,
    noun: str,
    observability_ref: bool = False,
    observer_url: bool = False,
    gateway: bool = False,
) -> Entity:
    """Assemble a plane entity; the flags say which of the plane-specific fields this kind has."""
    name = entities.checked_name(resource)
    body = resource.body
    body_spec = cr.spec(body)
    oc_namespace = None if cluster else entities.checked_namespace(resource)
    annotations = entities.base_annotations(body, oc_namespace)
    annotations[STATUS] = readiness(body)
    spec: dict[str, Any] = {} if oc_namespace is None else {"domain": refs.domain_ref_value(oc_namespace)}
    if gateway:
        ingress = ingress_gateway(body_spec)
        if ingress is not None:
            spec["gateway"] = ingress
    if observability_ref:
        if oc_namespace is None:
            bare = cr.text(cr.mapping(body_spec.get("observabilityPlaneRef")).get("name"))
            if bare:
                annotations[OBSERVABILITY_PLANE_REF] = bare
                spec["observabilityPlaneRef"] = bare
        else:
            ref = namespaced_observability_ref(body_spec, oc_namespace)
            annotations[OBSERVABILITY_PLANE_REF] = ref
            spec["observabilityPlaneRef"] = ref
    if observer_url:
        url = cr.text(body_spec.get("observerURL"))
        if url:
            annotations[OBSERVER_URL] = url
            spec["observerURL"] = url
    annotations.update(agent_annotations(body))
    entities.add_deletion_timestamp(annotations, body)
    return entities.envelope(
        kind=kind,
        name=name,
        namespace=entities.CLUSTER_NAMESPACE if oc_namespace is None else oc_namespace,
        body=body,
        default_description=f"{name} {noun}",
        annotations=annotations,
        tags=entities.tags(FIRST_TAG, tag, PLANE_TAIL_TAG),
        spec=spec,
        labels={f"openchoreo.io/{tag}": "true"},
    )


def map_data_plane(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    """DataPlane → ``Dataplane``, ClusterDataPlane → ``ClusterDataplane`` (lower-case p, as upstream)."""
    if cluster:
        return _plane(
            resource,
            cluster=True,
            kind="ClusterDataplane",
            tag="cluster-dataplane",
            noun="cluster data plane",
            observability_ref=True,
            gateway=True,
        )
    return _plane(
        resource,
        cluster=False,
        kind="Dataplane",
        tag="dataplane",
        noun="dataplane",
        observability_ref=True,
        gateway=True,
    )


def map_workflow_plane(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    if cluster:
        return _plane(
            resource,
            cluster=True,
            kind="ClusterWorkflowPlane",
            tag="cluster-workflowplane",
            noun="cluster workflow plane",
            observability_ref=True,
        )
    return _plane(
        resource,
        cluster=False,
        kind="WorkflowPlane",
        tag="workflowplane",
        noun="workflow plane",
        observability_ref=True,
    )


def map_observability_plane(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    if cluster:
        return _plane(
            resource,
            cluster=True,
            kind="ClusterObservabilityPlane",
            tag="cluster-observabilityplane",
            noun="cluster observability plane",
            observer_url=True,
        )
    return _plane(
        resource,
        cluster=False,
        kind="ObservabilityPlane",
        tag="observabilityplane",
        noun="observability plane",
        observer_url=True,
    )
