"""OpenChoreo Project → Backstage ``System`` (core mapping §2)."""

from __future__ import annotations

from typing import Any

from openchoreo_sync import Entity, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import (
    base,
    managed_labels,
    provenance,
    put,
    require_valid_identity,
    tags,
)
from openchoreo_sync.kit.refs import domain_ref_value


def map_project(resource: Resource, ctx: SyncContext) -> list[Entity]:
    body = resource.body
    name = cr.name_of(body)
    ns = resource.namespace or cr.text(cr.metadata(body).get("namespace"))
    entity_namespace = cr.text(cr.metadata(body).get("namespace")) or ns
    require_valid_identity(resource, name, entity_namespace)
    spec = cr.spec(body)
    project_type = cr.mapping(spec.get("type"))
    type_name = cr.text(project_type.get("name"))

    annotations = provenance()
    annotations["openchoreo.io/project-id"] = name
    put(annotations, "openchoreo.io/project-uid", cr.uid_of(body))
    annotations["openchoreo.io/namespace"] = ns
    if type_name:
        annotations["openchoreo.io/project-type"] = type_name
        annotations["openchoreo.io/project-type-kind"] = cr.text(project_type.get("kind")) or "ProjectType"
    put(annotations, "openchoreo.io/deletion-timestamp", cr.deletion_timestamp(body))

    entity_spec: dict[str, Any] = {
        "owner": cr.resolve_owner(body, default=ctx.default_owner),
        "domain": domain_ref_value(ns),
    }
    put(
        entity_spec,
        "deploymentPipelineRef",
        cr.text(cr.mapping(spec.get("deploymentPipelineRef")).get("name")),
    )
    return [
        base(
            "System",
            name,
            entity_namespace,
            title=cr.title_of(body),
            description=cr.description_of(body) or name,
            tag_list=tags("openchoreo", "project"),
            annotations=annotations,
            labels=managed_labels(),
            spec=entity_spec,
        )
    ]
