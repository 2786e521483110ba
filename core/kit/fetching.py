"""Fetch OpenChoreo list endpoints concurrently and hand back each collection as soon as it is ready.

Mapping starts on the first collection that completes and a namespace's raw API data is freed as
soon as it is mapped. The shared client bounds requests in flight (and walks ``limit=100`` pages
with cursors); ``limit`` here caps how many walks run at once: enough to keep the client's request
pipeline full, few enough that the raw data of every namespace is never held at once. When the
consumer stops iterating, the walks still running are cancelled instead of leaking.

Example (a ``fetch`` hook)::

    from openchoreo_sync.kit.fetching import fetch_endpoints

    def fetch(ctx):
        return fetch_endpoints(ctx, [WIDGETS, CLUSTER_WIDGETS])
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from ..client.requester import AHEAD
from ..context import SyncContext
from ..model import Collection, Refetched, Resource, ResourceEvent
from .endpoints import NAMESPACES, Endpoint, namespace_path

T = TypeVar("T")


AHEAD_BY = 1_000
"""Added to the request priority (:class:`~openchoreo_sync.client.requester.Slots`, twice a walk's pages
left): ahead of every walk of up to ~500 pages; a longer one still goes first, as its chain is longer."""


@contextmanager
def ahead() -> Iterator[None]:
    """Requests made in this context (and in tasks started in it) take free slots before others.

    For walks that gate the next step of a chain: a family that walks a few namespaces at a time
    and joins four lists per namespace starts the next namespace only when the one-page lists
    are in too, and those waited behind every short list of the other families (at 10k
    components the next namespaces started 2-3 s late in a loaded run).
    """
    token = AHEAD.set(AHEAD.get() + AHEAD_BY)
    try:
        yield
    finally:
        AHEAD.reset(token)


async def as_they_complete(awaitables: Iterable[Awaitable[T]], *, limit: int | None = None) -> AsyncIterator[T]:
    """Run ``awaitables`` concurrently (at most ``limit`` at once) and yield results in completion order."""
    waiting = iter(awaitables)  # a generator is consumed lazily: coroutines are made when started
    running: set[asyncio.Future[T]] = set()

    def start_more() -> None:
        while limit is None or len(running) < limit:
            try:
                running.add(asyncio.ensure_future(next(waiting)))
            except StopIteration:
                return

    start_more()
    try:
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            running.difference_update(done)
            start_more()
            for task in done:
                yield task.result()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def fetch_endpoints(ctx: SyncContext, endpoints: Iterable[Endpoint]) -> AsyncIterator[Collection]:
    """One collection per cluster endpoint and per (namespaced endpoint, namespace), as each completes.

    Cluster walks start before the namespace list is awaited. When the namespace list itself
    fails, the exception escapes and fails the whole family (its entities are kept), because its
    namespaced collections cannot even be named. A failed walk is a collection with ``error`` set.
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


def refetch_endpoint(
    event: ResourceEvent, ctx: SyncContext, endpoints: Mapping[str, Endpoint]
) -> Awaitable[Refetched] | None:
    """The GET of the object an event names; None, decided at once, when its kind is not in ``endpoints``.

    ``endpoints`` is keyed by lower-case event kind (:func:`~openchoreo_sync.kit.endpoints.by_event_kind`).
    The answer is a collection with the same name and namespace as the full sync's, so the core
    replaces exactly the entity that came from it.
    """
    endpoint = endpoints.get(event.kind.lower())
    if endpoint is None:
        return None
    return _get_one(endpoint, event, ctx)


async def _get_one(endpoint: Endpoint, event: ResourceEvent, ctx: SyncContext) -> Refetched:
    """A namespaced event without a namespace means ``default``, like upstream; a cluster event's
    namespace is ignored. 404 gives ``gone=True`` (``confirmed`` by :func:`confirm_gone`); any other
    error propagates (the event changes nothing)."""
    namespace = None if endpoint.cluster else (event.namespace or "default")
    where = event.name if namespace is None else f"{namespace}/{event.name}"
    what = f"{endpoint.kind} {where}"
    body = await ctx.require_client().get(endpoint.item_path(event.name, namespace), what=what)
    if body is None:
        confirmed = await confirm_gone(ctx, namespace)
        return Refetched(Collection(endpoint.collection, namespace), origin=what, gone=True, confirmed=confirmed)
    resources = [Resource(endpoint.kind, body, namespace)]
    return Refetched(Collection(endpoint.collection, namespace, resources), origin=what)


async def confirm_gone(ctx: SyncContext, namespace: str | None) -> bool:
    """Whether a resource's 404 means it is gone: the namespace it lives in still answers.

    A gateway that misroutes one namespace, or a namespace mid-migration, answers 404 for every
    object in it, the namespace included; only a 404 next to a namespace that answers says the
    object itself was deleted. A cluster-scoped resource has no namespace: its 404 is confirmed
    when the API's namespace list answers (the API is there and routes). Any error is "not
    confirmed", never raised: the event then removes nothing and the next full sync decides.
    """
    client = ctx.require_client()
    try:
        if namespace is None:
            return bool(await client.list_all(NAMESPACES, what="namespaces (confirming a 404)"))
        return await client.get(namespace_path(namespace), what=f"namespace {namespace} (confirming a 404)") is not None
    except Exception:
        return False


async def confirm_namespace_gone(ctx: SyncContext, name: str) -> bool:
    """Whether a Namespace's own 404 means it is gone: the namespace list answers, without it.

    An empty list confirms nothing (a reader role without ``namespace:view`` lists nothing), and
    an error is "not confirmed" too.
    """
    try:
        items = await ctx.require_client().list_all(NAMESPACES, what="namespaces (confirming a 404)")
    except Exception:
        return False
    names = {str((item.get("metadata") or {}).get("name")) for item in items}
    return bool(names) and name not in names
