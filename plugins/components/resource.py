"""OpenChoreo Resource → Backstage built-in ``Resource`` (platform mapping §18).

Backstage's Resource schema requires a non-empty ``spec.type`` and validates every tag, so the
two places where the official module emits values Backstage rejects are fixed here (docs/parity.md).
"""

from __future__ import annotations

import copy
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

from .joins import PROJECT, resource_project


def map_resource_instance(resource: Resource, ctx: SyncContext) -> list[Entity]:
    body = resource.body
    name = cr.name_of(body)
    namespace = resource.namespace or cr.text(cr.metadata(body).get("namespace"))
    require_valid_identity(resource, name, namespace)
    spec = cr.spec(body)
    project = resource_project(body)
    resource_type = cr.mapping(spec.get("type"))
    type_name = cr.text(resource_type.get("name"))

    annotations = provenance()
    annotations["openchoreo.io/namespace"] = namespace
    annotations["openchoreo.io/project"] = project
    annotations["openchoreo.io/resource"] = name
    put(annotations, "openchoreo.io/resource-uid", cr.uid_of(body))
    annotations["openchoreo.io/resource-type"] = type_name
    annotations["openchoreo.io/resource-type-kind"] = cr.text(resource_type.get("kind")) or "ResourceType"
    annotations["openchoreo.io/created-at"] = cr.created_at(body)
    put(annotations, "openchoreo.io/deletion-timestamp", cr.deletion_timestamp(body))

    entity_spec: dict[str, Any] = {
        "type": type_name or "unknown",
        "owner": cr.resolve_owner(body, resource.context.get(PROJECT), default=ctx.default_owner),
    }
    put(entity_spec, "system", project)
    parameters = spec.get("parameters")
    if isinstance(parameters, dict) and parameters:
        entity_spec["parameters"] = copy.deepcopy(parameters)
    return [
        base(
            "Resource",
            name,
            namespace,
            title=cr.title_of(body),
            description=cr.description_of(body) or f"{name} resource",
            tag_list=tags("openchoreo", "resource", type_name),
            annotations=annotations,
            labels=managed_labels(),
            spec=entity_spec,
        )
    ]
