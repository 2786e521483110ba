"""OpenChoreo Component (joined with its Workload) → Backstage ``Component`` plus its ``API`` entities.

Core mapping §3-4. The API entities are built first so the Component lists exactly the APIs that
exist: an endpoint whose API name Backstage would reject is dropped from both, with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync import Entity, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import (
    base,
    is_object_name,
    managed_labels,
    provenance,
    put,
    require_valid_identity,
    tags,
)

from .api import api_entity
from .joins import PROJECT, WORKLOAD, WORKLOADS, component_project
from .workload import (
    WorkloadIndex,
    api_name,
    dependency_project,
    endpoint_dependencies,
    resource_dependencies,
    schema_endpoints,
)


def component_type(spec: Mapping[str, Any]) -> tuple[str, str]:
    """(type, type kind): ``spec.componentType`` as a string, or its ``name``/``kind`` when an object."""
    ct = spec.get("componentType")
    if isinstance(ct, str):
        return ct, ""
    ct_map = cr.mapping(ct)
    return cr.text(ct_map.get("name")), cr.text(ct_map.get("kind"))


def repository(spec: Mapping[str, Any]) -> tuple[str, str]:
    """(url, branch) of ``spec.workflow.parameters.repository``; both ``''`` without a workflow."""
    workflow = cr.mapping(spec.get("workflow"))
    repo = cr.mapping(cr.mapping(workflow.get("parameters")).get("repository"))
    return cr.text(repo.get("url")), cr.text(cr.mapping(repo.get("revision")).get("branch"))


def consumed_apis(workload: Mapping[str, Any] | None, project: str, index: WorkloadIndex) -> list[str]:
    """Dependencies whose target endpoint has a schema (so every ref names an API that exists)."""
    names: list[str] = []
    for dependency in endpoint_dependencies(workload):
        component = cr.text(dependency.get("component"))
        endpoint = cr.text(dependency.get("name"))
        target_project = dependency_project(dependency, project)
        if not component or not endpoint:
            continue
        if endpoint not in schema_endpoints(index.get((target_project, component))):
            continue
        name = api_name(target_project, component, endpoint)
        if is_object_name(name):
            names.append(name)
    return names


def _apis(resource: Resource, ctx: SyncContext, namespace: str, project: str, owner: str) -> list[Entity]:
    workload = resource.context.get(WORKLOAD)
    if not workload:
        return []
    component = cr.name_of(resource.body)
    apis: list[Entity] = []
    for endpoint_name, endpoint in schema_endpoints(workload).items():
        name = api_name(project, component, endpoint_name)
        if not is_object_name(name):
            ctx.log.warning(
                "API entity skipped: name is not a valid Backstage name (1-63 characters of "
                "[a-zA-Z0-9] separated by [-_.])",
                resource=resource.describe(),
                endpoint=endpoint_name,
                api=name,
            )
            continue
        apis.append(
            api_entity(
                namespace=namespace,
                project=project,
                component=component,
                endpoint_name=endpoint_name,
                endpoint=endpoint,
                owner=owner,
                workload_name=cr.name_of(workload),
            )
        )
    return apis


def map_component(resource: Resource, ctx: SyncContext) -> list[Entity]:
    body = resource.body
    name = cr.name_of(body)
    namespace = resource.namespace or cr.text(cr.metadata(body).get("namespace"))
    require_valid_identity(resource, name, namespace)
    project = component_project(body)
    if not project:
        raise ValueError(
            f"{resource.describe()}: has no spec.owner.projectName (nor openchoreo.dev/project label), "
            "so it belongs to no System"
        )
    spec = cr.spec(body)
    workload: Mapping[str, Any] | None = resource.context.get(WORKLOAD) or None
    owner = cr.resolve_owner(body, resource.context.get(PROJECT), default=ctx.default_owner)
    apis = _apis(resource, ctx, namespace, project, owner)
    type_name, type_kind = component_type(spec)
    status = cr.ready_status(body)
    url, branch = repository(spec)

    annotations = provenance()
    annotations["openchoreo.io/component"] = name
    put(annotations, "openchoreo.io/component-uid", cr.uid_of(body))
    put(annotations, "openchoreo.io/component-type", type_name)
    put(annotations, "openchoreo.io/component-type-kind", type_kind)
    annotations["openchoreo.io/project"] = project
    annotations["openchoreo.io/namespace"] = namespace
    put(annotations, "openchoreo.io/created-at", cr.created_at(body))
    annotations["openchoreo.io/status"] = status
    put(annotations, "openchoreo.io/deletion-timestamp", cr.deletion_timestamp(body))
    if url:
        annotations["backstage.io/source-location"] = f"url:{url}"
    put(annotations, "openchoreo.io/branch", branch)
    if workload:
        put(annotations, "openchoreo.io/workload", cr.name_of(workload))

    entity_spec: dict[str, Any] = {
        "type": type_name or "unknown",
        "lifecycle": status.lower(),
        "owner": owner,
        "system": project,
    }
    put(entity_spec, "providesApis", [api["metadata"]["name"] for api in apis])
    put(entity_spec, "consumesApis", consumed_apis(workload, project, resource.context.get(WORKLOADS) or {}))
    put(entity_spec, "dependsOn", [f"resource:{namespace}/{ref}" for ref in resource_dependencies(workload)])

    component = base(
        "Component",
        name,
        namespace,
        title=cr.title_of(body),
        description=cr.description_of(body),
        tag_list=tags("openchoreo", "component", (type_name or "unknown").replace("/", "-", 1)),
        annotations=annotations,
        labels=managed_labels(),
        spec=entity_spec,
    )
    return [component, *apis]
