"""The ``/schema`` endpoints of the type kinds, and hand-written scaffolder templates to serve.

``GET .../{name}/schema`` answers the type's parameter schema (``SchemaResponse``: a JSON Schema
object). The real server builds it from ``spec.parameters.openAPIV3Schema`` and answers 500 when
that cannot be turned into a schema; the mock does the same for a schema whose ``properties`` is
not an object, which is how a world holds "a type whose /schema fails".

:func:`showcase` adds what exercises the Template generator beyond the generated world: a
ComponentType and a ClusterComponentType carrying the ``scaffolder.openchoreo.dev/backstage-template-url``
annotation (their templates served by the mock itself, under ``/scaffolder-templates/``), and a
ResourceType whose ``/schema`` fails. It needs the mock's URL, so it is applied to a running
mock (:meth:`~openchoreo_sync.mockapi.MockOpenChoreo.add_scaffolder_showcase`).
"""

from __future__ import annotations

import copy
from typing import Any

from .objects import Obj

SCHEMA_COLLECTIONS = frozenset(
    {
        "componenttypes",
        "traits",
        "workflows",
        "projecttypes",
        "resourcetypes",
        "clustercomponenttypes",
        "clustertraits",
        "clusterworkflows",
        "clusterprojecttypes",
        "clusterresourcetypes",
    }
)
TEMPLATES_PATH = "/scaffolder-templates"
TEMPLATE_URL = "scaffolder.openchoreo.dev/backstage-template-url"


class SchemaUnavailable(Exception):
    """The type's parameter schema cannot be built (the server answers 500)."""


def parameter_schema(obj: Obj) -> dict[str, Any]:
    """The ``SchemaResponse`` of one type: its openAPIV3Schema, or an empty object schema."""
    parameters = (obj.get("spec") or {}).get("parameters") or {}
    schema = parameters.get("openAPIV3Schema") if isinstance(parameters, dict) else None
    if schema is None:
        return {"type": "object", "properties": {}}
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        raise SchemaUnavailable(obj["metadata"]["name"])
    return copy.deepcopy(schema)


def _template_yaml(name: str, title: str, tags: list[str]) -> str:
    """A hand-written template as a platform team would publish one: a leading non-Template doc."""
    tag_lines = "".join(f"    - {t}\n" for t in tags)
    return f"""# Published by the platform team; the catalog sync reads the first kind: Template below.
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: {name}-location
spec:
  targets: []
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: {name}-handwritten
  namespace: ignored-by-the-sync
  title: {title}
  description: Hand-written wizard for {name}
  tags:
{tag_lines}  annotations:
    example.com/reviewed-by: platform-team
spec:
  owner: group:default/platform-team
  type: service
  parameters:
    - title: Basics
      required: [component_name]
      properties:
        component_name:
          title: Component Name
          type: string
  steps:
    - id: create
      name: Create
      action: openchoreo:component:create
      input:
        componentName: ${{{{ parameters.component_name }}}}
        componentType: {name}
"""


TEMPLATES: dict[str, str] = {
    "custom-service.yaml": _template_yaml("custom-service", "Custom Service (hand-written)", ["custom", "service"]),
    "custom-batch.yaml": _template_yaml("custom-batch", "Custom Batch (hand-written)", ["custom", "batch"]),
    "not-yaml.yaml": "kind: Template\nmetadata: [unclosed\n",
}
"""What ``/scaffolder-templates/{name}`` serves by default (tests may add their own)."""


def showcase(base_url: str, namespace: str = "default") -> list[tuple[str, str, Obj]]:
    """(collection, namespace, object) to put into a running mock's world."""
    templates = f"{base_url}{TEMPLATES_PATH}"
    return [
        (
            "componenttypes",
            namespace,
            {
                "metadata": {
                    "name": "custom-service",
                    "annotations": {
                        "openchoreo.dev/display-name": "Custom Service",
                        TEMPLATE_URL: f"{templates}/custom-service.yaml",
                    },
                },
                "spec": {"workloadType": "deployment", "parameters": {"openAPIV3Schema": {"type": "object"}}},
            },
        ),
        (
            "clustercomponenttypes",
            "",
            {
                "metadata": {"name": "custom-batch", "annotations": {TEMPLATE_URL: f"{templates}/custom-batch.yaml"}},
                "spec": {"workloadType": "cronjob"},
            },
        ),
        (
            "resourcetypes",
            namespace,
            {
                "metadata": {"name": "legacy-queue", "annotations": {"openchoreo.dev/display-name": "Legacy Queue"}},
                # properties must be an object: the server cannot build this type's schema (500)
                "spec": {"parameters": {"openAPIV3Schema": {"type": "object", "properties": ["size"]}}},
            },
        ),
    ]
