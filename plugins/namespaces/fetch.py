"""Fetch the namespace list and, per namespace, environments, pipelines and notification channels.

Each (kind, namespace) is its own collection, so one failed walk keeps only that slice of the
catalog as it was. The namespace list itself is the root collection: if it cannot be read the
exception propagates and the whole family is kept from the last good run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from openchoreo_sync import Collection, Resource, SyncContext
from openchoreo_sync.streaming import as_they_complete

from . import cr
from .channel import KIND as CHANNEL_KIND

NAMESPACES = "namespaces"
ENVIRONMENTS = "environments"
PIPELINES = "deploymentpipelines"
CHANNELS = "notificationchannels"

# (collection name, API path segment under /api/v1/namespaces/{ns}, OpenChoreo kind)
NAMESPACED: tuple[tuple[str, str, str], ...] = (
    (ENVIRONMENTS, "environments", "Environment"),
    (PIPELINES, "deploymentpipelines", "DeploymentPipeline"),
    (CHANNELS, "observabilityalertsnotificationchannels", CHANNEL_KIND),
)
COLLECTION_FOR_KIND = {kind: name for name, _segment, kind in NAMESPACED}
SEGMENT_FOR_KIND = {kind: segment for _name, segment, kind in NAMESPACED}


def namespace_path(namespace: str, segment: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/{segment}"


async def fetch_family(ctx: SyncContext) -> AsyncIterator[Collection]:
    items = await ctx.namespaces()
    yield Collection(NAMESPACES, None, [Resource("Namespace", item) for item in items], root=True)
    names = [name for name in (cr.name_of(item) for item in items) if name]
    walks = (
        ctx.walk(collection, namespace_path(ns, segment), kind=kind, namespace=ns)
        for ns in names
        for collection, segment, kind in NAMESPACED
    )
    async for collection in as_they_complete(walks):
        yield collection
