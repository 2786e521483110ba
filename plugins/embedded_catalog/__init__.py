"""The ``embedded_catalog`` output: Backstage's catalog read API, served from the state store.

The engine commits each run's snapshot to the store; this plugin needs no ``emit``: it answers
``/api/catalog/...`` requests straight from the committed snapshot, so it serves the stored
snapshot as soon as the daemon starts (before its first run) and every commit right after it
lands. See README.md in this directory for the endpoints and the differences from Backstage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openchoreo_sync import PluginInfo, SyncContext, hookimpl

from .settings import EmbeddedCatalogSettings

PLUGIN_NAME = "embedded_catalog"


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Backstage's catalog read API (entities, by-query, by-name, by-refs, facets) "
        "served from the committed snapshot on the daemon's HTTP server, and the pull contract "
        "(snapshot pages, change feed, status) for a catalog that ingests it",
        settings=EmbeddedCatalogSettings,
        role="output",
    )


@hookimpl
def http_routes(ctx: SyncContext) -> Sequence[Any]:
    # The route modules bring the server stack (starlette, anyio): imported only where HTTP is
    # served, not by every command that loads the plugin (``export`` serves nothing).
    from .routes import catalog_routes
    from .sync_api import sync_routes

    settings = ctx.settings(PLUGIN_NAME)
    if not isinstance(settings, EmbeddedCatalogSettings):
        settings = EmbeddedCatalogSettings()
    catalog = ctx.catalog
    if catalog is None:
        raise RuntimeError("the embedded catalog serves the committed snapshot, but this process opened no store")
    inline = ctx.in_reader_process  # a reader runs no sync: its loop is free for the queries themselves
    return [
        *catalog_routes(catalog, settings.base_path, inline=inline),
        *sync_routes(catalog, settings.sync_base_path),
    ]
