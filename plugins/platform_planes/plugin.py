"""The ``platform_planes`` family: data, workflow and observability planes, namespaced and cluster-scoped.

Planes are the clusters OpenChoreo deploys to, builds on and observes with. Each becomes a custom
Backstage kind (``Dataplane``/``ClusterDataplane`` keep upstream's lower-case p) carrying its
readiness, agent connection and observability-plane link, so the catalog shows the platform's
topology next to the applications running on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

from openchoreo_sync import hookimpl
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Collection, Entity, Refetched, Relation, Resource, ResourceEvent
from openchoreo_sync.plugin_info import PluginInfo
from openchoreo_sync.plugins.component_types.collect import (
    Endpoint,
    by_event_kind,
    fetch_collections,
    refetch_one,
)
from openchoreo_sync.snapshot import EntityIndex

from .plane_mappers import map_data_plane, map_observability_plane, map_workflow_plane
from .plane_relations import plane_relations

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("dataplanes", "DataPlane"),
    Endpoint("workflowplanes", "WorkflowPlane"),
    Endpoint("observabilityplanes", "ObservabilityPlane"),
    Endpoint("clusterdataplanes", "ClusterDataPlane", cluster=True),
    Endpoint("clusterworkflowplanes", "ClusterWorkflowPlane", cluster=True),
    Endpoint("clusterobservabilityplanes", "ClusterObservabilityPlane", cluster=True),
)
_BY_EVENT_KIND = by_event_kind(ENDPOINTS)

MAPPERS: dict[str, Callable[[Resource], Entity]] = {
    "DataPlane": map_data_plane,
    "WorkflowPlane": map_workflow_plane,
    "ObservabilityPlane": map_observability_plane,
    "ClusterDataPlane": partial(map_data_plane, cluster=True),
    "ClusterWorkflowPlane": partial(map_workflow_plane, cluster=True),
    "ClusterObservabilityPlane": partial(map_observability_plane, cluster=True),
}
BACKSTAGE_KINDS: dict[str, str] = {
    "DataPlane": "Dataplane",
    "WorkflowPlane": "WorkflowPlane",
    "ObservabilityPlane": "ObservabilityPlane",
    "ClusterDataPlane": "ClusterDataplane",
    "ClusterWorkflowPlane": "ClusterWorkflowPlane",
    "ClusterObservabilityPlane": "ClusterObservabilityPlane",
}


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Data, workflow and observability planes, namespaced and cluster-scoped",
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


@hookimpl
def relate(entities: EntityIndex, ctx: SyncContext) -> list[Relation]:
    return list(plane_relations(entities))


@hookimpl
def refetch(event: ResourceEvent, ctx: SyncContext) -> Awaitable[Refetched] | None:
    return refetch_one(event, ctx, _BY_EVENT_KIND)
