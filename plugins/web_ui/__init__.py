"""The ``web_ui`` output: pages for people, on the daemon's server, from the committed snapshot.

A catalog page (by kind and namespace, text search, Backstage-style facets), an entity page (its
fields, annotations and relations, and its neighbourhood drawn as a graph) and a sync page (held
runs with the command that applies them, failed and stale collections, pending removals, outputs,
the event queue, the last runs with their phase durations). Like ``embedded_catalog`` it needs no
``emit``: every request reads the store, so a commit shows at the next page load. See README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openchoreo_sync.kit import PluginInfo, SyncContext, hookimpl

from .pages import Pages
from .settings import WebUiSettings

PLUGIN_NAME = "web_ui"


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="catalog, entity graph and sync health pages on the daemon's HTTP server (/ui)",
        settings=WebUiSettings,
        role="output",
    )


@hookimpl
def http_routes(ctx: SyncContext) -> Sequence[Any]:
    settings = ctx.settings(PLUGIN_NAME)
    return Pages(ctx, settings if isinstance(settings, WebUiSettings) else WebUiSettings()).routes()
