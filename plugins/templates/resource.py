"""The Template of a (Cluster)ResourceType: create a resource of that type.

The form's details come from the type's ``/schema`` body (``rtdSchema``), rendered by the
``ResourceParametersField`` extension; a namespaced type pre-fills its namespace, a cluster type
leaves the choice to the user (``openchoreo-cluster`` is no namespace a resource can live in).
"""

from __future__ import annotations

from typing import Any

from openchoreo_sync.kit import Entity, Resource, cr

from .common import generated_template, title_of, view_link
from .sources import TemplateSource

STEP = "create-resource"


def _metadata_section(default_namespace: str) -> dict[str, Any]:
    return {
        "title": "Resource Metadata",
        "required": ["project_namespace", "resource_name"],
        "properties": {
            "project_namespace": {
                "title": "Project & Namespace",
                "type": "object",
                "ui:field": "ProjectNamespaceField",
                "ui:options": {"defaultNamespace": default_namespace},
                "properties": {"project_name": {"type": "string"}, "namespace_name": {"type": "string"}},
                "required": ["project_name", "namespace_name"],
            },
            "resource_name": {
                "title": "Resource Name",
                "type": "string",
                "description": "Unique name for your Resource (must be a valid Kubernetes name)",
                "ui:field": "ResourceNamePicker",
                "ui:options": {
                    "catalogKind": "Resource",
                    "resourceLabel": "Resource",
                    "namespaceField": "project_namespace.namespace_name",
                },
            },
            "displayName": {
                "title": "Display Name",
                "type": "string",
                "description": "A human-readable display name for the Resource",
            },
            "description": {
                "title": "Description",
                "type": "string",
                "description": "Describe what this Resource is for",
            },
        },
    }


def resource_template(source: TemplateSource, resource: Resource, schema: Any, owner: str) -> Entity:
    """The generated Template; ``schema`` is the type's ``/schema`` body, embedded verbatim."""
    body = resource.body
    title = title_of(body)
    default_namespace = "" if source.cluster else (resource.namespace or cr.namespace_of(body))
    details = {
        "title": f"{title} Details",
        "properties": {
            "parameters": {
                "title": "Parameters",
                "type": "object",
                "ui:field": "ResourceParametersField",
                "ui:options": {
                    "rtdName": cr.name_of(body),
                    "rtdKind": source.wire_kind,
                    "rtdDisplayName": title,
                    "rtdSchema": schema,
                },
            }
        },
    }
    step = {
        "id": STEP,
        "name": "Create OpenChoreo Resource",
        "action": "openchoreo:resource:create",
        "input": {
            "namespaceName": "${{ parameters.project_namespace.namespace_name }}",
            "projectName": "${{ parameters.project_namespace.project_name }}",
            "resourceName": "${{ parameters.resource_name }}",
            "displayName": "${{ parameters.displayName }}",
            "description": "${{ parameters.description }}",
            "typeKind": source.wire_kind,
            "typeName": cr.name_of(body),
            "parameters": "${{ parameters.parameters }}",
        },
    }
    return generated_template(
        source,
        resource,
        owner=owner,
        parameters=[_metadata_section(default_namespace), details],
        steps=[step],
        output={"links": [view_link("View Resource", "kind:resource", "resource", STEP, "resourceName")]},
    )
