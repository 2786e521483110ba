"""The ``templates`` family: one scaffolder Template per (Cluster)ComponentType, (Cluster)ProjectType
and (Cluster)ResourceType, so developers can create a component, project or resource of that type
from Backstage's "Create" page.

It reads the type lists itself (it may not import the ``component_types`` family) and, per type,
the type's ``/schema`` (component and resource types) or the hand-written template its
``scaffolder.openchoreo.dev/backstage-template-url`` annotation names (component types). Mappers
are chosen by resource kind: this family hands out ``<WireKind>Template`` resources
(``ComponentTypeTemplate``, ``ClusterResourceTypeTemplate`` ...), body = the type as the API
returned it, context = what :mod:`.fetch` read for it. So a third party replaces one generator by
answering ``map_resource`` first (``@hookimpl(tryfirst=True)``) for that resource kind, or adds a
Template for another kind with a family of its own; see the README "Scaffolder Templates".

Entry point: ``templates = "openchoreo_sync.plugins.templates:family"``. Settings:
``openchoreo.plugins.templates.*`` (:class:`.settings.TemplatesSettings`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

from openchoreo_sync.kit import (
    Collection,
    Entity,
    PluginInfo,
    Refetched,
    Resource,
    ResourceEvent,
    SyncContext,
    hookimpl,
)

from .fetch import fetch_templates, refetch_template
from .mapping import template_of
from .settings import TemplatesSettings
from .sources import BY_EVENT_KIND, BY_RESOURCE_KIND, SOURCES

PLUGIN_NAME = "templates"


def settings_of(ctx: SyncContext) -> TemplatesSettings:
    settings = ctx.settings(PLUGIN_NAME)
    return settings if isinstance(settings, TemplatesSettings) else TemplatesSettings.model_validate(settings or {})


class TemplatesFamily:
    """The plugin object (hooks as methods, so a test can register a second instance under another name)."""

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(
            inputs_only=True,  # schemas and template files are read in fetch, so they are inputs too
            description="Scaffolder Templates from component, project and resource types (both scopes)",
            kinds=("Template",),
            mapping=tuple((source.wire_kind, "Template") for source in SOURCES),
            settings=TemplatesSettings,
            event_kinds=tuple(BY_EVENT_KIND),
        )

    @hookimpl
    def fetch(self, ctx: SyncContext) -> AsyncIterator[Collection]:
        return fetch_templates(ctx, settings_of(ctx))

    @hookimpl
    def map_resource(self, resource: Resource, ctx: SyncContext) -> list[Entity] | None:
        source = BY_RESOURCE_KIND.get(resource.kind)
        if source is None:
            return None
        return [template_of(source, resource, ctx)]

    @hookimpl
    def refetch(self, event: ResourceEvent, ctx: SyncContext) -> Awaitable[Refetched | None] | None:
        if event.kind.lower() not in BY_EVENT_KIND:
            return None
        return refetch_template(event, ctx, settings_of(ctx))


family = TemplatesFamily()
