"""Turn one prepared type resource into its Template: generated, hand-written, or none.

The fetch step put what the Template needs into the resource's context (the ``/schema`` body, or
the hand-written template, or why either could not be read), so mapping does no I/O. The two
failures differ on purpose:

- the schema could not be read: ``ValueError``. The core reports it and keeps the Template synced
  before (stale) while the schema is unreadable; the type's own entity is not affected.
- the hand-written template is unusable (host not allowed, unreachable, too large, not YAML, no
  ``kind: Template``): :class:`~openchoreo_sync.kit.ResourceSkipped`. Reported, and no Template for
  that type (the official module does not fall back to a generated one either).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit import Entity, Resource, ResourceSkipped, SyncContext, entities

from .common import TEMPLATE_URL, identity, type_annotations
from .component import component_template
from .project import project_template
from .resource import resource_template
from .sources import TemplateSource

SCHEMA = "schema"
SCHEMA_ERROR = "schema_error"
TEMPLATE = "template"
TEMPLATE_URL_KEY = "template_url"
TEMPLATE_ERROR = "template_error"


def stamp_override(source: TemplateSource, resource: Resource, template: Mapping[str, Any], url: str) -> Entity:
    """The hand-written Template, owned by the type: its spec, title, description and tags are kept;
    name, namespace and the identifying annotations are the type's (generated ``"false"``)."""
    _, name, namespace = identity(source, resource)
    metadata = dict(template["metadata"])
    annotations: dict[str, Any] = dict(metadata.get("annotations") or {})
    annotations.update(type_annotations(source, resource.body, generated=False))
    annotations.update(
        {
            TEMPLATE_URL: url,
            entities.MANAGED_BY_LOCATION: f"url:{url}",
            entities.MANAGED_BY_ORIGIN_LOCATION: f"url:{url}",
        }
    )
    metadata.update(name=name, namespace=namespace, annotations=annotations)
    return {**template, "metadata": metadata}


def template_of(source: TemplateSource, resource: Resource, ctx: SyncContext) -> Entity:
    context = resource.context
    if TEMPLATE_ERROR in context:
        raise ResourceSkipped(f"no Template: the hand-written template cannot be used: {context[TEMPLATE_ERROR]}")
    if TEMPLATE in context:
        return stamp_override(source, resource, context[TEMPLATE], context[TEMPLATE_URL_KEY])
    if source.family == "project":
        return project_template(source, resource, ctx.default_owner)
    if SCHEMA not in context:
        reason = context.get(SCHEMA_ERROR, "the schema was not fetched")
        raise ValueError(
            f"no Template while its schema cannot be read ({reason}); any Template synced before is kept, stale"
        )
    if source.family == "component":
        return component_template(source, resource, context[SCHEMA], ctx.default_owner)
    return resource_template(source, resource, context[SCHEMA], ctx.default_owner)
