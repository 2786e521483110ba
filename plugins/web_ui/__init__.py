"""The ``web_ui`` output: pages for people, on the daemon's server, from the committed snapshot.

A catalog page (by kind and namespace, text search, Backstage-style facets), an entity page (its
fields, annotations and relations, and its neighbourhood drawn as a graph) and a sync page (held
runs with the command that applies them, failed and stale collections, pending removals, outputs,
the event queue, the last runs with their phase durations). Every request reads the store, so a
commit shows at the next page load; a background task started by ``on_startup`` only warms the
catalog page's per-snapshot answers after each commit, so visitors rarely wait for them. See
README.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from openchoreo_sync.kit import PluginInfo, SyncContext, hookimpl

from .settings import WebUiSettings

if TYPE_CHECKING:
    from .pages import Pages

PLUGIN_NAME = "web_ui"


def _pages(ctx: SyncContext) -> Pages:
    # jinja2 and the server stack (starlette), imported by the first process that serves or
    # warms pages; a command that loads the plugin and serves nothing (``export``) never does.
    from .pages import Pages

    settings = ctx.settings(PLUGIN_NAME)
    return ctx.instance(
        PLUGIN_NAME, lambda: Pages(ctx, settings if isinstance(settings, WebUiSettings) else WebUiSettings())
    )


WATCH_SECONDS = 2.0
"""how often the committed snapshot's version is checked (a cheap read) to warm the cache"""


async def _keep_warm(pages: Pages) -> None:
    """Until shutdown: after each commit, compute the unfiltered catalog page's answers."""
    warmed: str | None = None
    while True:
        serving = pages.ctx.server_url is not None  # not in ``once``: nobody would read the pages
        version = await asyncio.to_thread(pages.catalog.snapshot_version) if serving else None
        if version is not None and version != warmed:
            try:
                await asyncio.to_thread(pages.warm)
                warmed = version
            except Exception as exc:  # a busy or broken store: pages compute on demand instead
                pages.ctx.log.warning("web UI could not warm its catalog cache", error=str(exc))
        await asyncio.sleep(WATCH_SECONDS)


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="catalog, entity graph and sync health pages on the daemon's HTTP server (/ui)",
        settings=WebUiSettings,
        role="output",
    )


@hookimpl
def http_routes(ctx: SyncContext) -> Sequence[Any]:
    return _pages(ctx).routes()


@hookimpl
async def on_startup(ctx: SyncContext) -> None:
    if ctx.catalog is not None:
        pages = _pages(ctx)
        pages.warming.add(asyncio.get_running_loop().create_task(_keep_warm(pages)))


@hookimpl
async def on_shutdown(ctx: SyncContext) -> None:
    if ctx.catalog is not None:
        pages = _pages(ctx)
        for task in pages.warming:
            task.cancel()
        await asyncio.gather(*pages.warming, return_exceptions=True)
        pages.warming.clear()
