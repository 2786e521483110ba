"""OpenChoreo's custom relations for Systems, Components and Resources (platform doc §20.3).

Like the official module's processors these act on every entity of the kind in the snapshot
and read the same annotations/fields; Backstage's standard relations (ownedBy, partOf system or
domain, providesApi, consumesApi, dependsOn) are the core's built-in relator's job, not ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openchoreo_sync import EntityIndex, Relation, entity_ref, make_ref
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import CLUSTER_NAMESPACE
from openchoreo_sync.relations import INSTANCE_OF, USES_PIPELINE

WORKLOAD_TYPE_PREFIXES = ("deployment/", "statefulset/", "cronjob/", "job/")


def _namespace(entity: Mapping[str, Any]) -> str:
    return cr.text(entity["metadata"].get("namespace")) or "default"


def _annotation(entity: Mapping[str, Any], key: str) -> str:
    return cr.text(cr.mapping(entity["metadata"].get("annotations")).get(key))


def _type_target(entity: Mapping[str, Any], kind: str, name: str, kind_annotation: str) -> str:
    """``<kind>:<own ns>/<name>``, or the cluster kind when the kind annotation says so (case-sensitive)."""
    cluster_kind = f"Cluster{kind}"
    if _annotation(entity, kind_annotation) == cluster_kind:
        return make_ref(cluster_kind, CLUSTER_NAMESPACE, name)
    return make_ref(kind, _namespace(entity), name)


def strip_workload_type(component_type: str) -> str:
    """``deployment/service`` → ``service``; other prefixes (``proxy/``) are kept, as upstream does."""
    for prefix in WORKLOAD_TYPE_PREFIXES:
        if component_type.startswith(prefix):
            return component_type[len(prefix) :]
    return component_type


def system_relations(entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``usesPipeline`` from ``spec.deploymentPipelineRef``; ``instanceOf`` its (Cluster)ProjectType."""
    source = entity_ref(entity)
    pipeline = cr.text(cr.mapping(entity.get("spec")).get("deploymentPipelineRef"))
    if pipeline:
        yield Relation(source, USES_PIPELINE, make_ref("deploymentpipeline", _namespace(entity), pipeline))
    project_type = _annotation(entity, "openchoreo.io/project-type")
    if project_type:
        target = _type_target(entity, "ProjectType", project_type, "openchoreo.io/project-type-kind")
        yield Relation(source, INSTANCE_OF, target)


def component_relations(entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``instanceOf`` the (Cluster)ComponentType named by the type annotation, workload prefix stripped."""
    component_type = strip_workload_type(_annotation(entity, "openchoreo.io/component-type"))
    if component_type:
        target = _type_target(entity, "ComponentType", component_type, "openchoreo.io/component-type-kind")
        yield Relation(entity_ref(entity), INSTANCE_OF, target)


def resource_relations(entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``instanceOf`` the (Cluster)ResourceType named by the resource-type annotation."""
    resource_type = _annotation(entity, "openchoreo.io/resource-type")
    if resource_type:
        target = _type_target(entity, "ResourceType", resource_type, "openchoreo.io/resource-type-kind")
        yield Relation(entity_ref(entity), INSTANCE_OF, target)


def relate_all(entities: EntityIndex) -> Iterator[Relation]:
    """Lazily: one relation per Component for 50k components is better consumed than collected."""
    for entity in entities.by_kind("System"):
        yield from system_relations(entity)
    for entity in entities.by_kind("Component"):
        yield from component_relations(entity)
    for entity in entities.by_kind("Resource"):
        yield from resource_relations(entity)
