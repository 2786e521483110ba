"""Fetching OpenChoreo list endpoints as collections, and re-fetching one object for an event.

Every platform family fetches the same way: one collection per (list endpoint, namespace) or per
cluster-scoped endpoint, all walked concurrently (the shared client bounds requests in flight and
walks ``limit=100`` pages with cursors). An event is answered by a GET of the one object, returned as
a collection with the same name and namespace as the full sync's, so the engine replaces exactly the
entity that came from it. Shared by ``component_types``, ``cluster_kinds`` and ``platform_planes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Collection, Refetched, Resource, ResourceEvent

API_ROOT = "/api/v1"


@dataclass(frozen=True)
class Endpoint:
    """One OpenChoreo list endpoint: ``collection`` is its URL segment and the collection's name."""

    collection: str
    kind: str
    """The wire kind of its items (``ComponentType``, ``ClusterDataPlane`` ...): mappers dispatch on it."""
    cluster: bool = False

    @property
    def event_kind(self) -> str:
        """The lower-case kind OpenChoreo's event forwarder sends for this kind."""
        return self.kind.lower()

    def list_path(self, namespace: str | None) -> str:
        if self.cluster:
            return f"{API_ROOT}/{self.collection}"
        return f"{API_ROOT}/namespaces/{quote(namespace or '', safe='')}/{self.collection}"

    def item_path(self, name: str, namespace: str | None) -> str:
        return f"{self.list_path(namespace)}/{quote(name, safe='')}"


def by_event_kind(endpoints: Iterable[Endpoint]) -> dict[str, Endpoint]:
    return {endpoint.event_kind: endpoint for endpoint in endpoints}


async def fetch_collections(ctx: SyncContext, endpoints: Iterable[Endpoint]) -> AsyncIterator[Collection]:
    """Yield one collection per cluster endpoint and per (namespaced endpoint, namespace), as each completes.

    Cluster walks start before the namespace list is awaited. When the namespace list itself
    fails, the exception escapes and fails the whole family (its entities are kept), because its
    namespaced collections cannot even be named.
    """
    endpoints = list(endpoints)
    tasks = [
        asyncio.ensure_future(ctx.walk(e.collection, e.list_path(None), kind=e.kind)) for e in endpoints if e.cluster
    ]
    try:
        namespaced = [e for e in endpoints if not e.cluster]
        if namespaced:
            for namespace in await ctx.namespace_names():
                tasks.extend(
                    asyncio.ensure_future(
                        ctx.walk(e.collection, e.list_path(namespace), kind=e.kind, namespace=namespace)
                    )
                    for e in namespaced
                )
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        # The consumer stopped early or a walk was cancelled: leave no orphan request running.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def refetch_one(
    event: ResourceEvent, ctx: SyncContext, endpoints: Mapping[str, Endpoint]
) -> Awaitable[Refetched] | None:
    """The GET of the object an event names; None, decided at once, when its kind is not ours.

    Synchronous on purpose: ``refetch`` is a first-result hook, and a coroutine is a result even
    when it would resolve to None, so the "not mine" answer must not be wrapped in one.
    """
    endpoint = endpoints.get(event.kind.lower())
    if endpoint is None:
        return None
    return _get_one(endpoint, event, ctx)


async def _get_one(endpoint: Endpoint, event: ResourceEvent, ctx: SyncContext) -> Refetched:
    """A namespaced event without a namespace means ``default``, like upstream; a cluster event's
    namespace is ignored. 404 gives ``gone=True``; any other error propagates (the event changes
    nothing)."""
    namespace = None if endpoint.cluster else (event.namespace or "default")
    where = event.name if namespace is None else f"{namespace}/{event.name}"
    what = f"{endpoint.kind} {where}"
    body = await ctx.require_client().get(endpoint.item_path(event.name, namespace), what=what)
    resources = [] if body is None else [Resource(endpoint.kind, body, namespace)]
    return Refetched(collection=Collection(endpoint.collection, namespace, resources), origin=what, gone=body is None)
