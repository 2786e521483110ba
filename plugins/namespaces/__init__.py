"""The ``namespaces`` family: Namespace → Domain, Environment, DeploymentPipeline, notification channel.

Registered through the ``openchoreo_sync.plugins`` entry point ``namespaces``; this module only
holds the hook implementations, each kind's translation lives in its own module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

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

from .channel import KIND as CHANNEL_KIND
from .channel import map_channel
from .domain import map_namespace
from .environment import map_environment
from .events import EVENT_KINDS, refetch_event
from .fetch import fetch_family
from .pipeline import map_pipeline
from .relations import relate_all

Mapper = Callable[[Resource, SyncContext], list[Entity]]

MAPPERS: dict[str, Mapper] = {
    "Namespace": map_namespace,
    "Environment": map_environment,
    "DeploymentPipeline": map_pipeline,
    CHANNEL_KIND: map_channel,
}


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        inputs_only=True,  # maps and relates from the fetched resources and settings alone
        description="OpenChoreo namespaces as Domains, with their Environments, DeploymentPipelines "
        "and alert notification channels",
        kinds=("Domain", "Environment", "DeploymentPipeline", CHANNEL_KIND),
        mapping=(
            ("Namespace", "Domain"),
            ("Environment", "Environment"),
            ("DeploymentPipeline", "DeploymentPipeline"),
            (CHANNEL_KIND, CHANNEL_KIND),
        ),
        event_kinds=tuple(EVENT_KINDS),
    )


@hookimpl
def fetch(ctx: SyncContext) -> AsyncIterator[Collection]:
    return fetch_family(ctx)


@hookimpl
def map_resource(resource: Resource, ctx: SyncContext) -> list[Entity] | None:
    mapper = MAPPERS.get(resource.kind)
    return None if mapper is None else mapper(resource, ctx)


@hookimpl
def relate(entities: EntityIndex, ctx: SyncContext) -> list[Relation]:
    return relate_all(entities)


@hookimpl
async def refetch(event: ResourceEvent, ctx: SyncContext) -> Refetched | None:
    return await refetch_event(event, ctx)
