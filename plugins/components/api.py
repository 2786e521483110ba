"""API entities derived from a component's schema-bearing Workload endpoints (core mapping §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync import Entity
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import base, managed_labels, provenance, tags

from .workload import api_name


def api_type(schema: Mapping[str, Any]) -> str:
    """``schema.type`` lower-cased (``openapi`` when missing); other values pass through lower-cased."""
    return cr.text(schema.get("type")).lower() or "openapi"


def _port(endpoint: Mapping[str, Any]) -> str:
    port = endpoint.get("port")
    return "" if port is None or isinstance(port, bool) else str(port)


def _visibility(endpoint: Mapping[str, Any]) -> str:
    visibility = endpoint.get("visibility")
    if not isinstance(visibility, list):
        return ""
    return ",".join(str(v) for v in visibility)


def api_entity(
    *,
    namespace: str,
    project: str,
    component: str,
    endpoint_name: str,
    endpoint: Mapping[str, Any],
    owner: str,
    workload_name: str,
) -> Entity:
    """One API entity; its description and tag use ``schema.type`` falling back to the endpoint type."""
    schema = cr.mapping(endpoint.get("schema"))
    endpoint_type = cr.text(endpoint.get("type"))
    label_type = cr.text(schema.get("type")) or endpoint_type
    port = _port(endpoint)

    annotations = provenance()
    annotations["openchoreo.io/component"] = component
    annotations["openchoreo.io/endpoint-name"] = endpoint_name
    annotations["openchoreo.io/endpoint-type"] = endpoint_type
    annotations["openchoreo.io/endpoint-port"] = port
    annotations["openchoreo.io/endpoint-visibility"] = _visibility(endpoint)
    annotations["openchoreo.io/project"] = project
    annotations["openchoreo.io/namespace"] = namespace
    annotations["openchoreo.io/workload"] = workload_name
    return base(
        "API",
        api_name(project, component, endpoint_name),
        namespace,
        title=f"{component} {endpoint_name} API",
        description=f"{label_type} API for {component} on port {port}",
        tag_list=tags("openchoreo", "api", label_type.lower()),
        annotations=annotations,
        labels=managed_labels(),
        spec={
            "type": api_type(schema),
            "lifecycle": "production",
            "owner": owner,
            "system": project,
            "definition": cr.text(schema.get("content")),
        },
    )
