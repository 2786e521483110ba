"""Fetch projects, components, workloads and resources with one namespace-wide walk per kind.

Per namespace the four walks run concurrently and are joined in memory (never one request per
component). A collection is complete only when everything its entities derive from is: the
``components`` collection needs components, workloads and projects (owner fallback); the
``resources`` collection needs resources and projects. A failed input marks the collection failed
so the core carries its previous entities forward instead of deleting or half-updating them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from openchoreo_sync import Collection, SyncContext
from openchoreo_sync.kit import cr, joined_inputs
from openchoreo_sync.kit.endpoints import namespaced_path
from openchoreo_sync.kit.fetching import ahead, as_they_complete

from .joins import join_components, join_resources

PROJECTS = "projects"
COMPONENTS = "components"
RESOURCES = "resources"
WORKLOADS = "workloads"


def _bodies(collection: Collection) -> list[Mapping[str, Any]]:
    return [resource.body for resource in collection.resources]


def _first_error(*collections: Collection) -> BaseException | None:
    return next((c.error for c in collections if c.error is not None), None)


async def fetch_namespace(ctx: SyncContext, namespace: str) -> list[Collection]:
    """The three collections of one namespace, from four concurrent walks.

    They go ahead of other families' requests: the next namespace starts only when all four are
    in, and the one-page lists would otherwise wait behind every short list of the run.
    """
    with ahead():
        walks = asyncio.gather(
            ctx.walk(PROJECTS, namespaced_path(namespace, "projects"), kind="Project", namespace=namespace),
            ctx.walk(COMPONENTS, namespaced_path(namespace, "components"), kind="Component", namespace=namespace),
            ctx.walk(WORKLOADS, namespaced_path(namespace, "workloads"), kind="Workload", namespace=namespace),
            ctx.walk(RESOURCES, namespaced_path(namespace, "resources"), kind="Resource", namespace=namespace),
        )
    projects, components, workloads, resources = await walks
    component_error = _first_error(components, workloads, projects)
    resource_error = _first_error(resources, projects)
    # The joins are functions of these walks' items alone: their pages' digests are the inputs'.
    return [
        projects,
        Collection(COMPONENTS, namespace, error=component_error)
        if component_error is not None
        else Collection(
            COMPONENTS,
            namespace,
            join_components(namespace, _bodies(components), _bodies(workloads), _bodies(projects)),
        ).made_from(joined_inputs(components, workloads, projects)),
        Collection(RESOURCES, namespace, error=resource_error)
        if resource_error is not None
        else Collection(
            RESOURCES, namespace, join_resources(namespace, _bodies(resources), _bodies(projects))
        ).made_from(joined_inputs(resources, projects)),
    ]


MAX_NAMESPACES_AT_ONCE = 6
"""With 32 request slots, 8 namespaces at once raised the peak RSS of a no-change run at 50k
components from 366 to 395 MB; 6 keep it at 365-367 MB and a no-change run at 10k within 0.1 s of
8's (docs/performance.md)."""


async def fetch_family(ctx: SyncContext) -> AsyncIterator[Collection]:
    """Every namespace concurrently (the client bounds requests in flight); collections as they finish.

    The namespace list is walked once by the core for all families; if it fails, the exception
    fails this family too and its entities are kept.
    """
    names = [name for name in (cr.name_of(item) for item in await ctx.namespaces()) if name]
    # Four walks per namespace: a quarter of the slots in namespaces keeps every slot busy; at most
    # MAX_NAMESPACES_AT_ONCE, since each one in flight holds its pages in memory.
    limit = max(1, min(MAX_NAMESPACES_AT_ONCE, ctx.config.openchoreo.client.max_in_flight // 4))
    async for collections in as_they_complete((fetch_namespace(ctx, ns) for ns in names), limit=limit):
        for collection in collections:
            yield collection
