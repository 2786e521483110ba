"""Entities for the platform-engineering kinds: component types, traits, workflows, project and
resource types, in both scopes.

The namespaced kind and its ``Cluster*`` twin differ only in a handful of words and defaults
(namespace, domain, description, tag, default ref kinds), so one function per kind takes the scope
and the ``cluster_kinds`` family (:mod:`.cluster`) reuses these instead of keeping a near-copy.
``cluster=True`` means: entity in the ``openchoreo-cluster`` pseudo-namespace, no domain, no
``openchoreo.io/namespace`` annotation.
"""

from __future__ import annotations

from typing import Any

from openchoreo_sync.kit import Entity, Resource, SyncContext, cr, entities, refs

from .allowed_refs import TRAIT_KINDS, WORKFLOW_KINDS, normalise_allowed
from .workflow_parameters import ANNOTATION as WORKFLOW_PARAMETERS
from .workflow_parameters import repository_parameters

FIRST_TAG = "openchoreo"
TYPE_TAIL_TAG = "platform-engineering"
"""Last tag of every type, trait and workflow kind."""

WORKFLOW_PLANE_REF = "openchoreo.io/workflow-plane-ref"
WORKFLOW_PLANE_REF_KIND = "openchoreo.io/workflow-plane-ref-kind"
WORKFLOW_TYPE_LABEL = "openchoreo.dev/workflow-type"


def _scope(resource: Resource, cluster: bool) -> tuple[str, str | None]:
    """(entity namespace, OpenChoreo namespace or None for cluster-scoped kinds)."""
    if cluster:
        return entities.CLUSTER_NAMESPACE, None
    namespace = entities.checked_namespace(resource)
    return namespace, namespace


def _start_spec(oc_namespace: str | None) -> dict[str, Any]:
    return {"domain": refs.domain_ref_value(oc_namespace)} if oc_namespace is not None else {}


def _simple(
    resource: Resource, *, cluster: bool, kind: str, tag: str, noun: str, spec: dict[str, Any] | None = None
) -> Entity:
    """A kind whose entity is only the envelope plus (for namespaced kinds) ``spec.domain``."""
    name = entities.checked_name(resource)
    namespace, oc_namespace = _scope(resource, cluster)
    annotations = entities.base_annotations(resource.body, oc_namespace)
    entities.add_deletion_timestamp(annotations, resource.body)
    return entities.envelope(
        kind=kind,
        name=name,
        namespace=namespace,
        body=resource.body,
        default_description=f"{name} {noun}",
        annotations=annotations,
        tags=entities.tags(FIRST_TAG, tag, TYPE_TAIL_TAG),
        spec={**_start_spec(oc_namespace), **(spec or {})},
    )


def map_component_type(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    """(Cluster)ComponentType. Only the cluster kind defaults ``workloadType`` to ``deployment``;
    the tag always uses the raw value, so an unset type adds no tag."""
    name = entities.checked_name(resource)
    namespace, oc_namespace = _scope(resource, cluster)
    body_spec = cr.spec(resource.body)
    workload_type = cr.text(body_spec.get("workloadType"))
    annotations = entities.base_annotations(resource.body, oc_namespace)
    entities.add_deletion_timestamp(annotations, resource.body)
    spec = _start_spec(oc_namespace)
    spec_workload_type = workload_type or ("deployment" if cluster else None)
    if spec_workload_type is not None:
        spec["workloadType"] = spec_workload_type
    workflows = normalise_allowed(
        body_spec.get("allowedWorkflows"),
        default_kind="ClusterWorkflow" if cluster else "Workflow",
        known_kinds=WORKFLOW_KINDS,
    )
    if workflows is not None:
        spec["allowedWorkflows"] = workflows
    traits = normalise_allowed(
        body_spec.get("allowedTraits"),
        default_kind="ClusterTrait" if cluster else "Trait",
        known_kinds=TRAIT_KINDS,
    )
    if traits is not None:
        spec["allowedTraits"] = traits
    prefix = "cluster " if cluster else ""
    return entities.envelope(
        kind="ClusterComponentType" if cluster else "ComponentType",
        name=name,
        namespace=namespace,
        body=resource.body,
        default_description=f"{name} {prefix}component type",
        annotations=annotations,
        tags=entities.tags(
            FIRST_TAG,
            "cluster-component-type" if cluster else "component-type",
            workload_type,
            TYPE_TAIL_TAG,
        ),
        spec=spec,
    )


def map_trait(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    """Trait → TraitType, ClusterTrait → ClusterTraitType: none of the trait's own spec is carried."""
    if cluster:
        return _simple(resource, cluster=True, kind="ClusterTraitType", tag="cluster-trait-type", noun="cluster trait")
    return _simple(resource, cluster=False, kind="TraitType", tag="trait-type", noun="trait")


def map_project_type(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    """(Cluster)ProjectType: the envelope only; its schema feeds Templates, not this entity."""
    if cluster:
        return _simple(
            resource,
            cluster=True,
            kind="ClusterProjectType",
            tag="cluster-project-type",
            noun="cluster project type",
        )
    return _simple(resource, cluster=False, kind="ProjectType", tag="project-type", noun="project type")


def map_resource_type(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    """(Cluster)ResourceType with ``retainPolicy`` (``Delete`` when the CR leaves it null)."""
    retain = cr.spec(resource.body).get("retainPolicy")
    spec = {"retainPolicy": retain if isinstance(retain, str) else "Delete"}
    if cluster:
        return _simple(
            resource,
            cluster=True,
            kind="ClusterResourceType",
            tag="cluster-resource-type",
            noun="cluster resource type",
            spec=spec,
        )
    return _simple(resource, cluster=False, kind="ResourceType", tag="resource-type", noun="resource type", spec=spec)


def map_workflow(resource: Resource, ctx: SyncContext, *, cluster: bool = False) -> Entity:
    """(Cluster)Workflow. ``spec.type`` is ``CI`` for build workflows (label workflow-type=component).

    The plane-ref kind annotation is written only when the CR names a kind, while the spec field
    always has one (the scope's own plane kind): relations read the annotations, as upstream does.
    """
    name = entities.checked_name(resource)
    namespace, oc_namespace = _scope(resource, cluster)
    body_spec = cr.spec(resource.body)
    plane_ref = cr.mapping(body_spec.get("workflowPlaneRef"))
    plane_name = cr.text(plane_ref.get("name"))
    plane_kind = cr.text(plane_ref.get("kind"))
    ttl = cr.text(body_spec.get("ttlAfterCompletion"))

    annotations = entities.base_annotations(resource.body, oc_namespace)
    parameters = repository_parameters(body_spec)
    if parameters:
        annotations[WORKFLOW_PARAMETERS] = parameters
    entities.add_deletion_timestamp(annotations, resource.body)
    if plane_name:
        annotations[WORKFLOW_PLANE_REF] = plane_name
    if plane_kind:
        annotations[WORKFLOW_PLANE_REF_KIND] = plane_kind

    spec = _start_spec(oc_namespace)
    is_build = cr.label(resource.body, WORKFLOW_TYPE_LABEL) == "component"
    spec["type"] = "CI" if is_build else "Generic"
    if plane_name:
        spec["workflowPlaneRef"] = plane_name
        spec["workflowPlaneRefKind"] = plane_kind or ("ClusterWorkflowPlane" if cluster else "WorkflowPlane")
    if ttl:
        spec["ttlAfterCompletion"] = ttl
    return entities.envelope(
        kind="ClusterWorkflow" if cluster else "Workflow",
        name=name,
        namespace=namespace,
        body=resource.body,
        default_description=f"{name} {'cluster workflow' if cluster else 'workflow'}",
        annotations=annotations,
        tags=entities.tags(FIRST_TAG, "cluster-workflow" if cluster else "workflow", TYPE_TAIL_TAG),
        spec=spec,
    )
