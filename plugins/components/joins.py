"""Attach to each component what its entities derive from, so mapping needs no I/O.

``Resource.context`` keys used by this family (both the full sync and events fill them):
``workload`` (the component's Workload or None), ``project`` (its Project CR or None, for the
owner fallback) and ``workloads`` (the namespace's :data:`WorkloadIndex`, for the consumesApis
filter; one shared read-only object per namespace).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from openchoreo_sync import Resource
from openchoreo_sync.kit import cr

from .workload import PROJECT_LABEL, WorkloadIndex, workload_component

WORKLOAD = "workload"
PROJECT = "project"
WORKLOADS = "workloads"


def component_project(component: Mapping[str, Any]) -> str:
    """``spec.owner.projectName``, else the ``openchoreo.dev/project`` label the API sets."""
    return cr.text(cr.mapping(cr.spec(component).get("owner")).get("projectName")) or cr.label(component, PROJECT_LABEL)


def first_workload_by_component(workloads: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The first workload of each component, in list order: ``items[0]`` of ``workloads?component=``."""
    out: dict[str, Mapping[str, Any]] = {}
    for workload in workloads:
        component = workload_component(workload)
        if component:
            out.setdefault(component, workload)
    return out


def join_components(
    namespace: str,
    components: Iterable[Mapping[str, Any]],
    workloads: Iterable[Mapping[str, Any]],
    projects: Iterable[Mapping[str, Any]],
) -> list[Resource]:
    """One Component resource per component of the namespace, carrying its workload, project and the index."""
    by_component = first_workload_by_component(workloads)
    projects_by_name = {cr.name_of(p): p for p in projects}
    named = [(component, cr.name_of(component), component_project(component)) for component in components]
    index: dict[tuple[str, str], Mapping[str, Any]] = {
        (project, name): by_component[name] for _, name, project in named if name in by_component
    }
    shared: WorkloadIndex = MappingProxyType(index)
    return [
        component_resource(namespace, component, by_component.get(name), projects_by_name.get(project), shared)
        for component, name, project in named
    ]


def component_resource(
    namespace: str,
    component: Mapping[str, Any],
    workload: Mapping[str, Any] | None,
    project: Mapping[str, Any] | None,
    index: WorkloadIndex,
) -> Resource:
    context = MappingProxyType({WORKLOAD: workload, PROJECT: project, WORKLOADS: index})
    return Resource("Component", component, namespace, context)


def resource_resource(namespace: str, resource: Mapping[str, Any], project: Mapping[str, Any] | None) -> Resource:
    """An OpenChoreo Resource with its Project joined (owner fallback)."""
    return Resource("Resource", resource, namespace, MappingProxyType({PROJECT: project}))


def join_resources(
    namespace: str, resources: Iterable[Mapping[str, Any]], projects: Iterable[Mapping[str, Any]]
) -> list[Resource]:
    projects_by_name = {cr.name_of(p): p for p in projects}
    return [resource_resource(namespace, item, projects_by_name.get(resource_project(item))) for item in resources]


def resource_project(resource: Mapping[str, Any]) -> str:
    return cr.text(cr.mapping(cr.spec(resource).get("owner")).get("projectName"))
