"""The ``cluster_kinds`` family: the cluster-scoped twins of the platform types.

ClusterComponentType, ClusterTrait (→ ClusterTraitType), ClusterWorkflow, ClusterProjectType and
ClusterResourceType are shared by every namespace, so their entities live in the
``openchoreo-cluster`` pseudo-namespace and belong to no Domain. They map with the same functions as
their namespaced kinds (``component_types``) in cluster scope; only the endpoints and relations differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial

from openchoreo_sync import hookimpl
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Collection, Entity, Refetched, Relation, Resource, ResourceEvent
from openchoreo_sync.plugin_info import PluginInfo
from openchoreo_sync.plugins.component_types import type_mappers
from openchoreo_sync.plugins.component_types.collect import (
    Endpoint,
    by_event_kind,
    fetch_collections,
    refetch_one,
)
from openchoreo_sync.plugins.component_types.type_relations import builds_on, uses_workflow
from openchoreo_sync.snapshot import EntityIndex

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("clustercomponenttypes", "ClusterComponentType", cluster=True),
    Endpoint("clustertraits", "ClusterTrait", cluster=True),
    Endpoint("clusterworkflows", "ClusterWorkflow", cluster=True),
    Endpoint("clusterprojecttypes", "ClusterProjectType", cluster=True),
    Endpoint("clusterresourcetypes", "ClusterResourceType", cluster=True),
)
_BY_EVENT_KIND = by_event_kind(ENDPOINTS)

MAPPERS: dict[str, Callable[[Resource], Entity]] = {
    "ClusterComponentType": partial(type_mappers.map_component_type, cluster=True),
    "ClusterTrait": partial(type_mappers.map_trait, cluster=True),
    "ClusterWorkflow": partial(type_mappers.map_workflow, cluster=True),
    "ClusterProjectType": partial(type_mappers.map_project_type, cluster=True),
    "ClusterResourceType": partial(type_mappers.map_resource_type, cluster=True),
}
BACKSTAGE_KINDS: dict[str, str] = {
    "ClusterComponentType": "ClusterComponentType",
    "ClusterTrait": "ClusterTraitType",
    "ClusterWorkflow": "ClusterWorkflow",
    "ClusterProjectType": "ClusterProjectType",
    "ClusterResourceType": "ClusterResourceType",
}


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Cluster-scoped component types, traits, workflows, project types and resource types",
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
    """ClusterComponentType → usesWorkflow, ClusterWorkflow → buildsOn; the other three have none."""
    for entity in entities.by_kind("ClusterComponentType"):
        yield from uses_workflow(entity, cluster=True)
    for entity in entities.by_kind("ClusterWorkflow"):
        plane = builds_on(entity, cluster=True)
        if plane is not None:
            yield plane


@hookimpl
def relate(entities: EntityIndex, ctx: SyncContext) -> list[Relation]:
    return list(_relations(entities))


@hookimpl
def refetch(event: ResourceEvent, ctx: SyncContext) -> Awaitable[Refetched] | None:
    return refetch_one(event, ctx, _BY_EVENT_KIND)
