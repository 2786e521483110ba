"""An example third-party *output* plugin: a per-kind summary of the catalog, served over HTTP.

It shows the three things an output usually needs, all from the kit: ``emit`` to react to each
committed change, ``ctx.instance`` for state kept across runs (here the last change counts),
``ctx.catalog`` for the committed snapshot, and ``http_routes`` to serve on the daemon's server
(behind the server token, with Backstage-shaped errors). Opt-in: enable it with
``openchoreo.plugins.example_output.enabled: true``.

The server stack (starlette, ``kit.http``) is imported inside ``http_routes``: every command loads
every installed plugin, and one that serves nothing (``export``, ``once``) should not pay for it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openchoreo_sync.kit import CatalogReader, ChangeSet, PluginInfo, SnapshotView, SyncContext, hookimpl

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

NAME = "example_output"
ROUTE = "/api/example/summary"


@dataclass
class Summary:
    """What the output remembers between runs."""

    emits: int = 0
    last_run: str | None = None
    last_changes: dict[str, int] = field(default_factory=dict)


def _summary(ctx: SyncContext) -> Summary:
    return ctx.instance(NAME, Summary)


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Example output: entities per kind of the committed catalog, at " + ROUTE,
        role="output",
        default_enabled=False,
    )


@hookimpl
def emit(snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext) -> None:
    summary = _summary(ctx)
    summary.emits += 1
    summary.last_run = snapshot.run_id
    summary.last_changes = changes.summary()


def kinds_of(catalog: CatalogReader) -> dict[str, int]:
    return dict(Counter(str(body.get("kind")) for _, body in catalog.all_bodies()))


@hookimpl
def http_routes(ctx: SyncContext) -> list[BaseRoute]:
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from openchoreo_sync.kit.http import backstage_error

    async def summary(request: Request) -> Response:
        catalog = ctx.catalog
        if catalog is None or await asyncio.to_thread(catalog.snapshot_version) is None:
            return backstage_error(503, "ServiceUnavailableError", "no snapshot committed yet", request)
        state = _summary(ctx)
        return JSONResponse(
            {
                "version": await asyncio.to_thread(catalog.snapshot_version),
                "kinds": await asyncio.to_thread(kinds_of, catalog),
                "emits": state.emits,
                "lastRun": state.last_run,
                "lastChanges": state.last_changes,
            }
        )

    return [Route(ROUTE, summary, methods=["GET"])]
