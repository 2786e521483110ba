"""Re-fetch what a project, component, workload or resource event names, with the full sync's joins.

Each answer reuses the full sync's collection name and namespace, so the core replaces exactly
the entities the resource produced. A workload event refreshes the component that owns it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from openchoreo_sync import Collection, Refetched, Resource, ResourceEvent, SyncContext
from openchoreo_sync.kit import cr, source_id
from openchoreo_sync.kit.catalog import Alternatives
from openchoreo_sync.kit.endpoints import namespaced_path
from openchoreo_sync.kit.fetching import confirm_gone

from .fetch import COMPONENTS, PROJECTS, RESOURCES
from .joins import component_project, component_resource, resource_project, resource_resource
from .workload import (
    WorkloadIndex,
    dependency_project,
    endpoint_dependencies,
    workload_component,
    workload_project,
)

EVENT_KINDS = ("project", "component", "workload", "resource")


async def _get(ctx: SyncContext, namespace: str, segment: str, name: str, what: str) -> dict[str, Any] | None:
    return await ctx.require_client().get(namespaced_path(namespace, segment, name), what=what)


async def _workload_of(ctx: SyncContext, namespace: str, component: str) -> Mapping[str, Any] | None:
    """``items[0]`` of ``workloads?component=``: the same choice the full sync's join makes."""
    items = await ctx.require_client().list_all(
        namespaced_path(namespace, "workloads"),
        {"component": component},
        what=f"workloads of component {namespace}/{component}",
    )
    return items[0] if items else None


async def _dependency_index(
    ctx: SyncContext, namespace: str, project: str, workload: Mapping[str, Any] | None
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The target workloads of the component's endpoint dependencies, keyed like the full sync's index.

    A failed lookup counts as "no schema" (the dependency is left out) rather than failing the
    event: the next full sync settles it.
    """
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    fetched: dict[str, Mapping[str, Any] | None] = {}
    for dependency in endpoint_dependencies(workload):
        target = cr.text(dependency.get("component"))
        if not target or target in fetched:
            continue
        try:
            fetched[target] = await _workload_of(ctx, namespace, target)
        except Exception as exc:
            ctx.log.warning(
                "workload lookup failed while resolving consumesApis",
                component=f"{namespace}/{target}",
                error=str(exc),
            )
            fetched[target] = None
        target_workload = fetched[target]
        if target_workload is not None:
            key_project = workload_project(target_workload) or dependency_project(dependency, project)
            index[(key_project, target)] = target_workload
    return index


async def refresh_component(ctx: SyncContext, namespace: str, name: str, origin: str) -> Refetched:
    what = f"component {namespace}/{name}"
    body = await _get(ctx, namespace, "components", name, what)
    if body is None:
        # Named explicitly: for a workload event the vanished resource is the component.
        gone = source_id("Component", namespace, name)
        confirmed = await confirm_gone(ctx, namespace)
        return Refetched(Collection(COMPONENTS, namespace), origin=origin, gone=True, source=gone, confirmed=confirmed)
    project = component_project(body)
    project_body = None
    if project and not cr.owner_annotation(body):
        project_body = await _get(ctx, namespace, "projects", project, f"project {namespace}/{project}")
    workload = await _workload_of(ctx, namespace, name)
    index = await _dependency_index(ctx, namespace, project, workload)
    if workload is not None:
        index[(project, name)] = workload
    shared: WorkloadIndex = MappingProxyType(index)
    resource = component_resource(namespace, body, workload, project_body, shared)
    return Refetched(Collection(COMPONENTS, namespace, [resource]), origin=origin)


async def _workload_event(ctx: SyncContext, namespace: str, name: str) -> Refetched:
    what = f"workload {namespace}/{name}"
    workload = await _get(ctx, namespace, "workloads", name, what)
    if workload is None:
        component = await _component_annotated_with(ctx, namespace, name)
        if component is None:
            raise LookupError(f"{what} is gone and no synced component names it; the next full sync reconciles it")
        # The workload was deleted: refresh its component, which then loses the APIs it provided.
        return await refresh_component(ctx, namespace, component, origin=f"{what} (deleted) → component {component}")
    component = workload_component(workload)
    if not component:
        raise LookupError(f"{what} has no spec.owner.componentName or openchoreo.dev/component label")
    return await refresh_component(ctx, namespace, component, origin=f"{what} → component {namespace}/{component}")


async def _component_annotated_with(ctx: SyncContext, namespace: str, workload: str) -> str | None:
    """The synced Component whose ``openchoreo.io/workload`` annotation names this workload.

    Once a workload is deleted the API cannot say whose it was; the catalog still can, like the
    official module's catalog query (here scoped to the namespace).
    """
    catalog = ctx.catalog
    if catalog is None:
        return None
    filters: Alternatives = [
        [
            ("kind", ["component"]),
            ("metadata.namespace", [namespace.lower()]),
            ("metadata.annotations.openchoreo.io/workload", [workload.lower()]),
        ]
    ]
    refs = await asyncio.to_thread(catalog.match_refs, filters) or []
    return refs[0].rsplit("/", 1)[1] if refs else None


async def _project_event(ctx: SyncContext, namespace: str, name: str) -> Refetched:
    what = f"project {namespace}/{name}"
    body = await _get(ctx, namespace, "projects", name, what)
    if body is None:
        confirmed = await confirm_gone(ctx, namespace)
        return Refetched(Collection(PROJECTS, namespace), origin=what, gone=True, confirmed=confirmed)
    return Refetched(Collection(PROJECTS, namespace, [Resource("Project", body, namespace)]), origin=what)


async def _resource_event(ctx: SyncContext, namespace: str, name: str) -> Refetched:
    what = f"resource {namespace}/{name}"
    body = await _get(ctx, namespace, "resources", name, what)
    if body is None:
        confirmed = await confirm_gone(ctx, namespace)
        return Refetched(Collection(RESOURCES, namespace), origin=what, gone=True, confirmed=confirmed)
    project = resource_project(body)
    project_body = None
    if project and not cr.owner_annotation(body):
        project_body = await _get(ctx, namespace, "projects", project, f"project {namespace}/{project}")
    return Refetched(Collection(RESOURCES, namespace, [resource_resource(namespace, body, project_body)]), origin=what)


async def refetch_event(event: ResourceEvent, ctx: SyncContext) -> Refetched | None:
    kind = event.kind.lower()
    if kind not in EVENT_KINDS:
        return None
    namespace = event.namespace or "default"
    if kind == "component":
        return await refresh_component(ctx, namespace, event.name, origin=f"component {namespace}/{event.name}")
    if kind == "workload":
        return await _workload_event(ctx, namespace, event.name)
    if kind == "project":
        return await _project_event(ctx, namespace, event.name)
    return await _resource_event(ctx, namespace, event.name)
