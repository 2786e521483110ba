"""The Template of a (Cluster)ComponentType: create a component of that type.

Three sections, as the official converter lays them out: the component's metadata, how it is
built and deployed (``buildAndDeploy``, one composite field), and the type's own details
(``workloadDetails``, rendered from the type's ``/schema`` by the ``WorkloadDetailsField``
extension). Exactly one step, ``openchoreo:component:create``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit import Entity, Resource, cr

from .common import generated_template, title_of, view_link, workload_type
from .sources import TemplateSource

STEP = "create-component"


def _allowed(value: Any, *, kind: str | None, force: bool) -> list[dict[str, str]] | None:
    """``allowedWorkflows`` / ``allowedTraits`` as ``{kind, name}``: ``force`` rewrites every kind
    (cluster types may only use cluster traits and workflows), else ``kind`` fills a missing one."""
    if not isinstance(value, list):
        return None
    out: list[dict[str, str]] = []
    for entry in value:
        if isinstance(entry, str):
            name, given = entry, ""
        elif isinstance(entry, Mapping):
            name, given = cr.text(entry.get("name")), cr.text(entry.get("kind"))
        else:
            continue
        if not name:
            continue
        chosen = kind if force else (given or kind)
        out.append({"kind": chosen, "name": name} if chosen else {"name": name})
    return out


def _metadata_section(namespace_name: str) -> dict[str, Any]:
    return {
        "title": "Component Metadata",
        "required": ["project_namespace", "component_name"],
        "properties": {
            "project_namespace": {
                "title": "Project & Namespace",
                "type": "object",
                "ui:field": "ProjectNamespaceField",
                "ui:options": {"defaultNamespace": namespace_name},
                "properties": {"project_name": {"type": "string"}, "namespace_name": {"type": "string"}},
                "required": ["project_name", "namespace_name"],
            },
            "component_name": {
                "title": "Component Name",
                "type": "string",
                "description": "Unique name for your component",
                "ui:field": "ComponentNamePicker",
            },
            "displayName": {"title": "Display Name", "type": "string", "description": "Human-readable display name"},
            "description": {
                "title": "Description",
                "type": "string",
                "description": "Brief description of what this component does",
            },
            "owner": {
                "title": "Owner",
                "type": "string",
                "description": "The group that owns this component.",
                "ui:field": "OwnerPicker",
                "ui:options": {"catalogFilter": {"kind": ["Group"]}},
            },
        },
    }


def _build_and_deploy_section(namespace_name: str, ctd_kind: str, workflows: list[dict[str, str]]) -> dict[str, Any]:
    build_and_deploy = {
        "type": "object",
        "ui:field": "BuildAndDeployField",
        "required": ["deploymentSource"],
        "properties": {
            "deploymentSource": {
                "title": "Deployment Source",
                "type": "string",
                "description": "Choose how to deploy your component",
                "enum": ["build-from-source", "deploy-from-image", "external-ci"],
                "ui:field": "DeploymentSourcePicker",
            },
            "workflow_name": {
                "title": "Build Workflow",
                "type": "object",
                "description": "Select the build workflow to use for this component",
                "properties": {
                    "kind": {"title": "Workflow Kind", "type": "string"},
                    "name": {"title": "Workflow Name", "type": "string"},
                },
                "required": ["kind", "name"],
                "ui:field": "BuildWorkflowPicker",
                "ui:options": {"namespaceName": namespace_name, "ctdKind": ctd_kind, "allowedWorkflows": workflows},
            },
            "git_source": {
                "title": "Source Repository",
                "type": "object",
                "ui:field": "GitSourceField",
                "ui:options": {"namespaceName": namespace_name},
                "properties": {
                    "repo_url": {"type": "string"},
                    "branch": {"type": "string"},
                    "component_path": {"type": "string"},
                    "git_secret_ref": {"type": "string"},
                },
            },
            "workflow_parameters": {
                "title": "Workflow Parameters",
                "type": "object",
                "ui:field": "BuildWorkflowParameters",
                "ui:options": {"namespaceName": namespace_name, "ctdKind": ctd_kind},
            },
            "containerImage": {
                "title": "Container Image",
                "type": "string",
                "description": "Full image reference (e.g., ghcr.io/org/app:v1.0.0 or nginx:latest)",
                "ui:field": "ContainerImageField",
            },
            "autoDeploy": {
                "title": "Auto Deploy",
                "description": "Automatically deploys the component to the first target environment once built",
                "type": "boolean",
                "default": False,
                "ui:field": "SwitchField",
            },
            "ciPlatform": {
                "title": "CI Platform (Optional)",
                "type": "string",
                "description": "Select your CI platform to enable build visibility in Backstage. "
                "You can configure this later via the annotation editor.",
                "enum": ["none", "jenkins", "github-actions", "gitlab-ci"],
                "enumNames": ["Skip - I'll configure this later", "Jenkins", "GitHub Actions", "GitLab CI"],
                "default": "none",
            },
            "ciIdentifier": {
                "title": "CI Job / Project Identifier",
                "type": "string",
                "description": "Identifier for the external CI job (e.g., Jenkins job full name such as "
                "`my-folder/my-job`, GitHub repo slug, or GitLab project ID).",
            },
        },
    }
    return {
        "title": "Build & Deploy",
        "required": ["buildAndDeploy"],
        "properties": {"buildAndDeploy": build_and_deploy},
    }


def _details_section(
    title: str, namespace_name: str, workload: str, schema: Any, traits: list[dict[str, str]] | None
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "namespaceName": namespace_name,
        "workloadType": workload,
        "ctdSchema": schema,
        "ctdDisplayName": title,
    }
    if traits is not None:
        options["allowedTraits"] = traits
    return {
        "title": f"{title} Details",
        "properties": {
            "workloadDetails": {
                "title": "Workload Details",
                "type": "object",
                "ui:field": "WorkloadDetailsField",
                "ui:options": options,
            }
        },
    }


def _step(type_name: str, workload: str, ctd_kind: str) -> dict[str, Any]:
    bd = "parameters.buildAndDeploy"
    return {
        "id": STEP,
        "name": "Create OpenChoreo Component",
        "action": "openchoreo:component:create",
        "input": {
            "namespaceName": "${{ parameters.project_namespace.namespace_name }}",
            "projectName": "${{ parameters.project_namespace.project_name }}",
            "componentName": "${{ parameters.component_name }}",
            "displayName": "${{ parameters.displayName }}",
            "description": "${{ parameters.description }}",
            "owner": "${{ parameters.owner }}",
            "componentType": type_name,
            "component_type_workload_type": workload,
            "component_type_kind": ctd_kind,
            "workloadDetails": "${{ parameters.workloadDetails }}",
            "deploymentSource": f"${{{{ {bd}.deploymentSource }}}}",
            "autoDeploy": f"${{{{ {bd}.autoDeploy }}}}",
            "containerImage": f"${{{{ {bd}.containerImage }}}}",
            "repo_url": f"${{{{ {bd}.git_source.repo_url }}}}",
            "branch": f"${{{{ {bd}.git_source.branch }}}}",
            "component_path": f"${{{{ {bd}.git_source.component_path }}}}",
            "gitSecretRef": f"${{{{ {bd}.git_source.git_secret_ref }}}}",
            "workflow": f"${{{{ {bd}.workflow_name }}}}",
            "workflow_parameters": f"${{{{ {bd}.workflow_parameters }}}}",
            "ciPlatform": f"${{{{ {bd}.ciPlatform }}}}",
            "ciIdentifier": f"${{{{ {bd}.ciIdentifier }}}}",
        },
    }


def component_template(source: TemplateSource, resource: Resource, schema: Any, owner: str) -> Entity:
    """The generated Template; ``schema`` is the type's ``/schema`` body, embedded verbatim."""
    body = resource.body
    spec = cr.spec(body)
    title = title_of(body)
    workload = workload_type(body)
    ctd_kind = source.wire_kind
    namespace_name = "" if source.cluster else (resource.namespace or cr.namespace_of(body))
    workflows = _allowed(
        spec.get("allowedWorkflows"),
        kind="ClusterWorkflow" if source.cluster else "Workflow",
        force=source.cluster,
    )
    traits = _allowed(spec.get("allowedTraits"), kind="ClusterTrait" if source.cluster else None, force=source.cluster)
    return generated_template(
        source,
        resource,
        owner=owner,
        parameters=[
            _metadata_section(namespace_name),
            _build_and_deploy_section(namespace_name, ctd_kind, workflows or []),
            _details_section(title, namespace_name, workload, schema, traits),
        ],
        steps=[_step(cr.name_of(body), workload, ctd_kind)],
        output={"links": [view_link("View Component", "kind:component", "component", STEP, "componentName")]},
    )
