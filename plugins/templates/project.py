"""The Template of a (Cluster)ProjectType: create a project (a Backstage System) of that type.

Project types carry their parameter schema inline (``spec.parameters.openAPIV3Schema``), so no
``/schema`` call is made and the Template is never skipped; ``ptdSchema`` is left out when the
type has none. A namespaced type pre-fills its own namespace; a cluster type leaves it to the user.
"""

from __future__ import annotations

from typing import Any

from openchoreo_sync.kit import Entity, Resource, cr

from .common import generated_template, title_of, view_link
from .sources import TemplateSource

STEP = "create-project"


def _metadata_section(default_namespace: str | None) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "title": "Namespace",
        "type": "string",
        "description": "Namespace where the project will be created",
        "ui:field": "NamespaceEntityPicker",
    }
    if default_namespace:
        namespace["default"] = default_namespace
    return {
        "title": "Project Metadata",
        "required": ["namespace_name", "project_name", "deployment_pipeline"],
        "properties": {
            "namespace_name": namespace,
            "project_name": {
                "title": "Project Name",
                "type": "string",
                "description": "Unique name for your project (must be a valid Kubernetes name)",
                "ui:field": "ResourceNamePicker",
                "ui:options": {"catalogKind": "System", "resourceLabel": "Project", "namespaceField": "namespace_name"},
            },
            "displayName": {
                "title": "Display Name",
                "type": "string",
                "description": "A human-readable display name for the Project",
            },
            "description": {
                "title": "Description",
                "type": "string",
                "description": "Describe what this Project is for",
            },
            "deployment_pipeline": {
                "title": "Deployment Pipeline",
                "type": "string",
                "description": "Deployment pipeline to associate with this project",
                "ui:field": "DeploymentPipelinePicker",
            },
            "auto_deploy": {
                "title": "Auto Deploy",
                "type": "boolean",
                "description": "Automatically deploys the project to all environments in the deployment pipeline "
                "once created",
                "default": True,
                "ui:field": "SwitchField",
                "ui:options": {
                    "offWarning": "The project will not be deployed to any environment. You will need to deploy "
                    "it manually from the project\u2019s Deploy tab before you can deploy components."
                },
            },
        },
    }


def project_template(source: TemplateSource, resource: Resource, owner: str) -> Entity:
    body = resource.body
    title = title_of(body)
    namespace = None if source.cluster else (resource.namespace or cr.namespace_of(body))
    options: dict[str, Any] = {"ptdName": cr.name_of(body), "ptdKind": source.wire_kind, "ptdDisplayName": title}
    schema = cr.mapping(cr.spec(body).get("parameters")).get("openAPIV3Schema")
    if schema:
        options["ptdSchema"] = schema
    details = {
        "title": f"{title} Details",
        "properties": {
            "parameters": {
                "title": "Parameters",
                "type": "object",
                "ui:field": "ProjectParametersField",
                "ui:options": options,
            }
        },
    }
    step = {
        "id": STEP,
        "name": "Create OpenChoreo Project",
        "action": "openchoreo:project:create",
        "input": {
            "namespaceName": "${{ parameters.namespace_name }}",
            "projectName": "${{ parameters.project_name }}",
            "displayName": "${{ parameters.displayName }}",
            "description": "${{ parameters.description }}",
            "deploymentPipeline": "${{ parameters.deployment_pipeline }}",
            "autoDeploy": "${{ parameters.auto_deploy }}",
            "typeKind": source.wire_kind,
            "typeName": cr.name_of(body),
            "parameters": "${{ parameters.parameters }}",
        },
    }
    output = {
        "links": [view_link("View Project", "kind:system", "system", STEP, "projectName")],
        "text": [
            {
                "if": f"${{{{ steps['{STEP}'].output.autoDeployFailed }}}}",
                "icon": "warning",
                "content": "Auto Deploy could not create release binding(s) for "
                f"**${{{{ steps['{STEP}'].output.failedEnvironments }}}}**. The project was created successfully, "
                "but it will not be deployed automatically \u2014 deploy it manually from the project's "
                "**Deploy** tab.",
            }
        ],
    }
    return generated_template(
        source,
        resource,
        owner=owner,
        parameters=[_metadata_section(None if namespace is None else f"domain:default/{namespace}"), details],
        steps=[step],
        output=output,
    )
