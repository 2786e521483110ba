"""Users and Groups from OpenChoreo's identity provider (Thunder), with membership that resolves.

Configured by the official module's keys (``thunder.baseUrl``, ``thunder.token``,
``thunder.defaultNamespace``, ``thunder.schedule.frequency``/``timeout``); off while
``thunder.baseUrl`` is unset. The directory is read every ``thunder.schedule.frequency``
seconds (``kit.schedule``); OpenChoreo runs in between keep it as committed. A directory that
cannot be read completely is carried forward stale and deletes nobody; the run is ``partial``.
See ``README.md`` in this folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openchoreo_sync.kit import Collection, Entity, PluginInfo, Resource, SyncContext, hookimpl
from openchoreo_sync.kit.schedule import due

from .directory import COLLECTIONS, GROUP_KIND, USER_KIND, read_directory
from .mapping import map_directory
from .settings import load_settings

MAPPING = (("Thunder User", "User"), ("Thunder Group", "Group"))


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        inputs_only=True,  # maps and relates from the fetched resources and settings alone
        description="Users and Groups from the Thunder identity provider (thunder.baseUrl), membership resolved",
        kinds=("User", "Group"),
        mapping=MAPPING,
    )


@hookimpl
def on_startup(ctx: SyncContext) -> None:
    """A bad ``thunder`` block stops the daemon at start, naming the key, not at the first read."""
    load_settings(ctx.config)  # off (None) without thunder.baseUrl: nothing to say, nothing to read


@hookimpl
async def fetch(ctx: SyncContext) -> AsyncIterator[Collection]:
    settings = load_settings(ctx.config)
    if settings is None:
        return
    if not await due(ctx, COLLECTIONS, every=settings.schedule.frequency):
        for name in COLLECTIONS:
            yield Collection(name, unchanged=True)
        return
    for collection in await read_directory(settings, ctx):
        yield collection


@hookimpl
def map_resource(resource: Resource, ctx: SyncContext) -> list[Entity] | None:
    if resource.kind not in (USER_KIND, GROUP_KIND):
        return None
    settings = ctx.instance("identities.settings", lambda: load_settings(ctx.config))  # once, not per user
    namespace = settings.default_namespace if settings is not None else "default"
    return map_directory(resource, ctx, namespace)
