"""The ``components`` family: Project → System, Component (+ Workload) → Component and API, Resource.

Registered through the ``openchoreo_sync.plugins`` entry point ``components``; this module only
holds the hook implementations, each kind's translation lives in its own module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

from openchoreo_sync import (
    Collection,
    Entity,
    EntityIndex,
    PluginInfo,
    Refetched,
    Relation,
    Resource,
    ResourceEvent,
    SyncContext,
    hookimpl,
)

from .component import map_component
from .events import EVENT_KINDS, refetch_event
from .fetch import fetch_family
from .relations import relate_all
from .resource import map_resource_instance
from .system import map_project

Mapper = Callable[[Resource, SyncContext], list[Entity]]

MAPPERS: dict[str, Mapper] = {
    "Project": map_project,
    "Component": map_component,
    "Resource": map_resource_instance,
}


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        inputs_only=True,  # maps and relates from the fetched resources and settings alone
        description="OpenChoreo projects as Systems, components (joined with their workloads) as "
        "Components with their APIs, and Resources",
        kinds=("System", "Component", "API", "Resource"),
        mapping=(
            ("Project", "System"),
            ("Component", "Component"),
            ("Workload", "API"),
            ("Resource", "Resource"),
        ),
        event_kinds=EVENT_KINDS,
    )


@hookimpl
def fetch(ctx: SyncContext) -> AsyncIterator[Collection]:
    return fetch_family(ctx)


@hookimpl
def map_resource(resource: Resource, ctx: SyncContext) -> list[Entity] | None:
    mapper = MAPPERS.get(resource.kind)
    return None if mapper is None else mapper(resource, ctx)


@hookimpl
def relate(entities: EntityIndex, ctx: SyncContext) -> Iterator[Relation]:
    return relate_all(entities)


@hookimpl
async def refetch(event: ResourceEvent, ctx: SyncContext) -> Refetched | None:
    return await refetch_event(event, ctx)
