"""Re-fetch the one Namespace, Environment, DeploymentPipeline or notification channel an event names.

The answer reuses the full sync's collection names, so the core replaces exactly the entities the
resource produced; a 404 means the object is gone once confirmed (its namespace still answers; a
Namespace is missing from the namespace list).
"""

from __future__ import annotations

from openchoreo_sync import Collection, Refetched, Resource, ResourceEvent, SyncContext
from openchoreo_sync.kit.endpoints import namespace_path, namespaced_path
from openchoreo_sync.kit.fetching import confirm_gone, confirm_namespace_gone

from .fetch import COLLECTION_FOR_KIND, NAMESPACES, SEGMENT_FOR_KIND

EVENT_KINDS: dict[str, str] = {"namespace": "Namespace"} | {k.lower(): k for k in COLLECTION_FOR_KIND}


async def refetch_event(event: ResourceEvent, ctx: SyncContext) -> Refetched | None:
    kind = EVENT_KINDS.get(event.kind.lower())
    if kind is None:
        return None
    client = ctx.require_client()
    if kind == "Namespace":
        # The namespace's name is the event's name; the refetched collection is not the root list
        # (an empty answer here means one namespace is gone, not that the list came back empty).
        what = f"namespace {event.name}"
        body = await client.get(namespace_path(event.name), what=what)
        if body is None:  # gone only if the namespace list no longer has it
            confirmed = await confirm_namespace_gone(ctx, event.name)
            return Refetched(Collection(NAMESPACES, None), origin=what, gone=True, confirmed=confirmed)
        return Refetched(Collection(NAMESPACES, None, [Resource(kind, body)]), origin=what)
    namespace = event.namespace or "default"
    what = f"{kind} {namespace}/{event.name}"
    path = namespaced_path(namespace, SEGMENT_FOR_KIND[kind], event.name)
    body = await client.get(path, what=what)
    if body is None:
        confirmed = await confirm_gone(ctx, namespace)
        return Refetched(Collection(COLLECTION_FOR_KIND[kind], namespace), origin=what, gone=True, confirmed=confirmed)
    return Refetched(Collection(COLLECTION_FOR_KIND[kind], namespace, [Resource(kind, body, namespace)]), origin=what)
