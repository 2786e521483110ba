"""Fetch the six type lists and, per type, what its Template needs: the ``/schema`` body or the
hand-written template.

One collection per (type list, namespace), named like the list (``componenttypes``): a failed
list walk fails that collection (its Templates are kept, stale). Per-type calls never fail the
collection: their outcome goes into the resource's context and the mapper decides (see
:mod:`.mapping`), so one unreadable schema costs exactly one Template. ``/schema`` calls go
through the shared client (its global in-flight limit, retries and auth); template URLs through a
separate client with no credentials (:mod:`.remote`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from openchoreo_sync.kit import Collection, Refetched, Resource, ResourceEvent, SyncContext, cr, source_id
from openchoreo_sync.kit.fetching import as_they_complete, confirm_gone

from .common import TEMPLATE_URL
from .mapping import SCHEMA, SCHEMA_ERROR, TEMPLATE, TEMPLATE_ERROR, TEMPLATE_URL_KEY
from .remote import TemplateUnreadable, allowed_hosts, check_url, new_client, read_template
from .settings import TemplatesSettings
from .sources import BY_EVENT_KIND, SOURCES, TemplateSource

COLLECTIONS_AT_ONCE = 8
"""Type lists walked at once (as the other families' ``fetch_endpoints`` bounds its walks)."""
CALLS_PER_COLLECTION = 8
"""Per-type calls (``/schema``, template URLs) in flight for one collection."""


@dataclass
class Readers:
    """What reading one type's extras needs, made once per run (or per event)."""

    settings: TemplatesSettings
    hosts: frozenset[str]
    _http: httpx.AsyncClient | None = field(default=None, repr=False)

    def http(self) -> httpx.AsyncClient:
        """The template-URL client, made at the first URL read: most types name none, and making
        a client loads the trust store (~30 ms of CPU, every run and every ``export``)."""
        if self._http is None:
            self._http = new_client(self.settings)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


def _what(source: TemplateSource, namespace: str | None, name: str) -> str:
    return f"{source.wire_kind} {namespace + '/' if namespace else ''}{name}"


async def prepare(
    ctx: SyncContext, source: TemplateSource, body: dict[str, object], namespace: str | None, readers: Readers
) -> Resource:
    """The type as this family's resource, with its schema or hand-written template (or why not)."""
    context: dict[str, object] = {}
    name = cr.name_of(body)
    url = cr.annotation(body, TEMPLATE_URL) if source.family == "component" else ""
    if url:
        context[TEMPLATE_URL_KEY] = url
        try:
            check_url(url, readers.hosts)
            context[TEMPLATE] = await read_template(readers.http(), url, readers.settings)
        except TemplateUnreadable as exc:
            context[TEMPLATE_ERROR] = str(exc)
    elif source.reads_schema and name:
        what = f"{_what(source, namespace, name)} schema"
        try:
            schema = await ctx.require_client().get(f"{source.endpoint.item_path(name, namespace)}/schema", what=what)
        except Exception as exc:  # one type's schema; the rest of the collection goes on
            context[SCHEMA_ERROR] = str(exc) or type(exc).__name__
        else:
            if schema is None:
                context[SCHEMA_ERROR] = f"{what}: not found (HTTP 404)"
            else:
                context[SCHEMA] = schema
    return Resource(source.resource_kind, body, namespace, context)


async def fetch_source(ctx: SyncContext, source: TemplateSource, namespace: str | None, readers: Readers) -> Collection:
    endpoint = source.endpoint
    collection = await ctx.walk(
        endpoint.collection, endpoint.list_path(namespace), kind=source.resource_kind, namespace=namespace
    )
    if not collection.ok:
        return collection
    prepared = (prepare(ctx, source, dict(r.body), namespace, readers) for r in collection.resources)
    collection.resources = [r async for r in as_they_complete(prepared, limit=CALLS_PER_COLLECTION)]
    return collection


@asynccontextmanager
async def readers_for(ctx: SyncContext, settings: TemplatesSettings) -> AsyncIterator[Readers]:
    readers = Readers(settings, allowed_hosts(settings, ctx.config.openchoreo.base_url, ctx.server_url))
    try:
        yield readers
    finally:
        await readers.aclose()


async def fetch_templates(ctx: SyncContext, settings: TemplatesSettings) -> AsyncIterator[Collection]:
    """Every source's collections, as each completes."""
    async with readers_for(ctx, settings) as readers:
        namespaces = await ctx.namespace_names() if any(not s.cluster for s in SOURCES) else []
        walks = (
            fetch_source(ctx, source, namespace, readers)
            for source in SOURCES
            for namespace in ([None] if source.cluster else namespaces)
        )
        async for collection in as_they_complete(walks, limit=COLLECTIONS_AT_ONCE):
            yield collection


async def refetch_template(event: ResourceEvent, ctx: SyncContext, settings: TemplatesSettings) -> Refetched | None:
    """Re-generate the Template of the type an event names.

    A schema that cannot be read raises, so the event changes nothing (the Template stays as it
    was); 404 on the type is ``gone`` and takes its Template away.
    """
    source = BY_EVENT_KIND.get(event.kind.lower())
    if source is None:
        return None
    namespace = None if source.cluster else (event.namespace or "default")
    what = _what(source, namespace, event.name)
    name = source.endpoint.collection
    body = await ctx.require_client().get(source.endpoint.item_path(event.name, namespace), what=what)
    if body is None:
        gone = source_id(source.resource_kind, namespace, event.name)
        confirmed = await confirm_gone(ctx, namespace)
        return Refetched(Collection(name, namespace), origin=what, gone=True, source=gone, confirmed=confirmed)
    async with readers_for(ctx, settings) as readers:
        resource = await prepare(ctx, source, body, namespace, readers)
    if SCHEMA_ERROR in resource.context:
        raise RuntimeError(f"{what}: Template not re-generated: {resource.context[SCHEMA_ERROR]}")
    return Refetched(collection=Collection(name, namespace, [resource]), origin=what)
