"""The ``files`` output (opt-in): the catalog as Backstage YAML files in a directory.

For ``type: file`` locations or a GitOps repository: ``<directory>/<namespace>/<family>.yaml``
plus ``index.yaml``, written atomically, untouched when unchanged, and never touching a file the
output did not write itself (see ``manifest``).
"""

from __future__ import annotations

import asyncio

from openchoreo_sync.kit import ChangeSet, PluginInfo, SnapshotView, SyncContext, hookimpl
from openchoreo_sync.kit.publishing import filter_allowed

from .settings import FilesSettings
from .writer import sync_directory

NAME = "files"


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Write the catalog as Backstage YAML files, one per namespace and family",
        settings=FilesSettings,
        default_enabled=False,
        role="output",
    )


@hookimpl
async def emit(snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext) -> None:
    settings: FilesSettings = ctx.settings(NAME)
    log = ctx.log.bind(output=NAME)
    catalog = ctx.catalog
    # While every entity of the run is alive, this is the run's memory peak: ref -> family only,
    # and the snapshot's own mapping unless the rules leave something out.
    families = await asyncio.to_thread(catalog.families) if catalog is not None else {}
    entities = dict(snapshot.entities(with_relations=False))  # Backstage computes relations itself
    preflight = filter_allowed(entities.values(), ctx.config)
    message = preflight.warning()
    if message:
        log.warning(f"files preflight: {message}")
    allowed = entities
    if len(preflight.allowed) != len(entities):
        kept = {id(body) for body in preflight.allowed}
        allowed = {ref: body for ref, body in entities.items() if id(body) in kept}
    report = await asyncio.to_thread(
        sync_directory,
        settings.directory,
        allowed,
        families,
        touched=set(changes.upserted()),
        full=changes.full,
    )
    log.info(
        "files: directory synced",
        directory=str(settings.directory),
        written=len(report.written),
        removed=len(report.removed),
        unchanged=report.unchanged,
    )
