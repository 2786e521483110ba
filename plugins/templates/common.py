"""What every generated Template shares: identity, title, description, provenance, the envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit import Entity, Resource, cr, entities

from .sources import TemplateSource

API_VERSION = "scaffolder.backstage.io/v1beta3"
KIND = "Template"
TEMPLATE_URL = "scaffolder.openchoreo.dev/backstage-template-url"
"""On a (Cluster)ComponentType: read this hand-written Template instead of generating one."""
WORKLOAD_TYPE = "openchoreo.io/workload-type"
FORM_DECORATORS = [{"id": "openchoreo:inject-user-token"}]
"""The scaffolder form decorator that forwards the user's token to the OpenChoreo actions."""

NAME_PREFIX = {"component": "template-", "project": "template-project-", "resource": "template-resource-"}
ANNOTATION_PREFIX = {"component": "ctd", "project": "ptd", "resource": "rtd"}


def format_title(name: str) -> str:
    """``web-application`` → ``Web Application``: each ``-``-separated word's first letter upper-cased."""
    return " ".join(word[:1].upper() + word[1:] for word in name.split("-"))


def title_of(body: Mapping[str, Any]) -> str:
    return cr.annotation(body, cr.DISPLAY_NAME) or format_title(cr.name_of(body))


def display_name(body: Mapping[str, Any]) -> str:
    return cr.annotation(body, cr.DISPLAY_NAME)


def workload_type(body: Mapping[str, Any]) -> str:
    return cr.text(cr.spec(body).get("workloadType")) or "deployment"


def identity(source: TemplateSource, resource: Resource) -> tuple[str, str, str]:
    """(type name, Template name, Template namespace); raises ValueError when either is invalid."""
    type_name = cr.name_of(resource.body)
    name = entities.checked_name(resource, NAME_PREFIX[source.family] + type_name)
    namespace = entities.CLUSTER_NAMESPACE if source.cluster else entities.checked_namespace(resource)
    return type_name, name, namespace


def type_annotations(source: TemplateSource, body: Mapping[str, Any], *, generated: bool) -> dict[str, str]:
    """``<x>td-name``, ``<x>td-generated``, then the kind and display name where the reference has them."""
    prefix = f"openchoreo.io/{ANNOTATION_PREFIX[source.family]}"
    annotations = {f"{prefix}-name": cr.name_of(body), f"{prefix}-generated": "true" if generated else "false"}
    if source.family == "component":
        annotations[WORKLOAD_TYPE] = workload_type(body)
        if source.cluster:
            annotations[f"{prefix}-kind"] = source.wire_kind
    else:
        annotations[f"{prefix}-kind"] = source.wire_kind
    entities.put(annotations, f"{prefix}-display-name", display_name(body))
    return annotations


def generated_template(
    source: TemplateSource,
    resource: Resource,
    *,
    owner: str,
    parameters: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    output: dict[str, Any],
) -> Entity:
    _, name, namespace = identity(source, resource)
    title = title_of(resource.body)
    description = cr.annotation(resource.body, cr.DESCRIPTION) or f"Create a {title} {source.family}"
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "title": title,
            "description": description,
            "annotations": {**entities.provenance(), **type_annotations(source, resource.body, generated=True)},
        },
        "spec": {
            "owner": owner,
            "type": source.family.title(),
            "EXPERIMENTAL_formDecorators": [dict(d) for d in FORM_DECORATORS],
            "parameters": parameters,
            "steps": steps,
            "output": output,
        },
    }


def view_link(title: str, icon: str, kind: str, step: str, name_output: str) -> dict[str, Any]:
    """The one output link: the entity the step created, as ``<kind>:<namespace>/<name>``."""
    return {
        "title": title,
        "icon": icon,
        "entityRef": f"{kind}:${{{{ steps['{step}'].output.namespaceName }}}}/"
        f"${{{{ steps['{step}'].output.{name_output} }}}}",
    }
