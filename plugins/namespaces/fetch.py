"""Fetch the namespace list and, per namespace, environments, pipelines and notification channels.

Each (kind, namespace) is its own collection, so one failed walk keeps only that slice of the
catalog as it was. The namespace list itself is the root collection: if it cannot be read the
exception propagates and the whole family is kept from the last good run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openchoreo_sync import Collection, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.endpoints import namespaced_path
from openchoreo_sync.kit.fetching import as_they_complete

from .channel import KIND as CHANNEL_KIND

NAMESPACES = "namespaces"
ENVIRONMENTS = "environments"
PIPELINES = "deploymentpipelines"
CHANNELS = "notificationchannels"

# (collection name, API path segment under the namespace, OpenChoreo kind)
NAMESPACED: tuple[tuple[str, str, str], ...] = (
    (ENVIRONMENTS, "environments", "Environment"),
    (PIPELINES, "deploymentpipelines", "DeploymentPipeline"),
    (CHANNELS, "observabilityalertsnotificationchannels", CHANNEL_KIND),
)
COLLECTION_FOR_KIND = {kind: name for name, _segment, kind in NAMESPACED}
SEGMENT_FOR_KIND = {kind: segment for _name, segment, kind in NAMESPACED}


async def fetch_family(ctx: SyncContext) -> AsyncIterator[Collection]:
    items = await ctx.namespaces()
    yield Collection(NAMESPACES, None, [Resource("Namespace", item) for item in items], root=True)
    names = [name for name in (cr.name_of(item) for item in items) if name]
    walks = (
        ctx.walk(collection, namespaced_path(ns, segment), kind=kind, namespace=ns)
        for ns in names
        for collection, segment, kind in NAMESPACED
    )
    async for collection in as_they_complete(walks):
        yield collection
