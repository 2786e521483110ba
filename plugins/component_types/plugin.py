"""The ``component_types`` family: namespaced ComponentType, Trait, Workflow, ProjectType, ResourceType.

These are what platform engineers publish per namespace for developers to build on. Each becomes
a custom Backstage kind in its namespace, part of the namespace's Domain. Scaffolder Templates
generated from the same types are a separate concern and are not produced here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from openchoreo_sync import hookimpl
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Collection, Entity, Refetched, Relation, Resource, ResourceEvent
from openchoreo_sync.plugin_info import PluginInfo
from openchoreo_sync.snapshot import EntityIndex

from . import type_mappers
from .collect import Endpoint, by_event_kind, fetch_collections, refetch_one
from .entity_refs import part_of_domain
from .type_relations import builds_on, uses_workflow

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("componenttypes", "ComponentType"),
    Endpoint("traits", "Trait"),
    Endpoint("workflows", "Workflow"),
    Endpoint("projecttypes", "ProjectType"),
    Endpoint("resourcetypes", "ResourceType"),
)
_BY_EVENT_KIND = by_event_kind(ENDPOINTS)

MAPPERS: dict[str, Callable[[Resource], Entity]] = {
    "ComponentType": type_mappers.map_component_type,
    "Trait": type_mappers.map_trait,
    "Workflow": type_mappers.map_workflow,
    "ProjectType": type_mappers.map_project_type,
    "ResourceType": type_mappers.map_resource_type,
}
BACKSTAGE_KINDS: dict[str, str] = {
    "ComponentType": "ComponentType",
    "Trait": "TraitType",
    "Workflow": "Workflow",
    "ProjectType": "ProjectType",
    "ResourceType": "ResourceType",
}


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Namespaced component types, traits, workflows, project types and resource types",
        kinds=tuple(BACKSTAGE_KINDS.values()),
        mapping=tuple(BACKSTAGE_KINDS.items()),
        event_kinds=tuple(_BY_EVENT_KIND),
    )


@hookimpl
def fetch(ctx: SyncContext) -> AsyncIterator[Collection]:
    return fetch_collections(ctx, ENDPOINTS)


@hookimpl
def map_resource(resource: Resource, ctx: SyncContext) -> list[Entity] | None:
    mapper = MAPPERS.get(resource.kind)
    return None if mapper is None else [mapper(resource)]


def _relations(entities: EntityIndex) -> Iterator[Relation]:
    for kind in BACKSTAGE_KINDS.values():  # every namespaced type is part of its Domain
        for entity in entities.by_kind(kind):
            domain = part_of_domain(entity)
            if domain is not None:
                yield domain
    for entity in entities.by_kind("ComponentType"):
        yield from uses_workflow(entity, cluster=False)
    for entity in entities.by_kind("Workflow"):
        plane = builds_on(entity, cluster=False)
        if plane is not None:
            yield plane


@hookimpl
def relate(entities: EntityIndex, ctx: SyncContext) -> list[Relation]:
    return list(_relations(entities))


@hookimpl
def refetch(event: ResourceEvent, ctx: SyncContext) -> Awaitable[Refetched] | None:
    return refetch_one(event, ctx, _BY_EVENT_KIND)
