"""What a component's Workload contributes: its API endpoints and its dependencies (core mapping §3.3).

A Workload is linked to its component by ``spec.owner.componentName`` (the label
``openchoreo.dev/component`` as a fallback), never by its name, which is only a convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit import cr

COMPONENT_LABEL = "openchoreo.dev/component"
PROJECT_LABEL = "openchoreo.dev/project"

WorkloadIndex = Mapping[tuple[str, str], Mapping[str, Any]]
"""The workload of each component of a namespace, keyed ``(project, component)``."""


def owner(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return cr.mapping(cr.spec(body).get("owner"))


def workload_component(workload: Mapping[str, Any]) -> str:
    return cr.text(owner(workload).get("componentName")) or cr.label(workload, COMPONENT_LABEL)


def workload_project(workload: Mapping[str, Any]) -> str:
    return cr.text(owner(workload).get("projectName")) or cr.label(workload, PROJECT_LABEL)


def schema_endpoints(workload: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Endpoints whose ``schema.content`` is non-blank, in the workload's map order; type is irrelevant."""
    if not workload:
        return {}
    endpoints = cr.mapping(cr.spec(workload).get("endpoints"))
    out: dict[str, Mapping[str, Any]] = {}
    for name, endpoint in endpoints.items():
        content = cr.mapping(cr.mapping(endpoint).get("schema")).get("content")
        if isinstance(content, str) and content.strip():
            out[str(name)] = cr.mapping(endpoint)
    return out


def _dependencies(workload: Mapping[str, Any] | None, key: str) -> list[Mapping[str, Any]]:
    if not workload:
        return []
    items = cr.mapping(cr.spec(workload).get("dependencies")).get(key)
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def endpoint_dependencies(workload: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """``spec.dependencies.endpoints[]``: ``{project?, component, name, ...}`` in order."""
    return _dependencies(workload, "endpoints")


def resource_dependencies(workload: Mapping[str, Any] | None) -> list[str]:
    """The Resource names of ``spec.dependencies.resources[].ref``, in order (entries without one skipped)."""
    return [ref for ref in (cr.text(d.get("ref")) for d in _dependencies(workload, "resources")) if ref]


def dependency_project(dependency: Mapping[str, Any], own_project: str) -> str:
    """The target project: ``dep.project`` unless null/absent (JS ``??``: an empty string is kept)."""
    project = dependency.get("project")
    return project if isinstance(project, str) else own_project


def api_name(project: str, component: str, endpoint: str) -> str:
    """``<project>-<component>-<endpoint>``: the one naming rule shared by API entities and their refs."""
    return f"{project}-{component}-{endpoint}"
