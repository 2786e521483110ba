"""The ``backstage`` output (opt-in): publish the snapshot as Backstage YAML and tell Backstage.

The daemon serves the catalog as YAML files on its own HTTP server (public, under an unguessable
path), registers one index location in Backstage, and after each change refreshes exactly the
locations whose files changed. See ``plugins/backstage/README.md`` for the Backstage side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openchoreo_sync.kit import (
    ChangeSet,
    ConfigError,
    OutputReport,
    PluginInfo,
    ProbeResult,
    SnapshotView,
    SyncContext,
    hookimpl,
    register_secret,
)

from .kinds import is_builtin
from .layout import INDEX_FILE
from .probe import probe_backstage
from .rules import kind_problems
from .settings import BackstageSettings
from .sink import BackstageSink

NAME = "backstage"
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Publish the catalog as Backstage YAML locations and refresh what changed",
        settings=BackstageSettings,
        default_enabled=False,
        role="output",
        emit_every_run=True,  # every run checks that Backstage still holds what was published
    )


def get_sink(ctx: SyncContext) -> BackstageSink:
    """The one sink of this daemon (every context of the daemon shares it)."""

    def make() -> BackstageSink:
        settings: BackstageSettings = ctx.settings(NAME)
        register_secret(settings.token.get_secret_value())
        if settings.publish_key is not None:
            register_secret(settings.publish_key.get_secret_value())
        services = ctx.services
        return BackstageSink(
            settings,
            ctx.config,
            ctx.log.bind(output=NAME),
            server_url=lambda: services.server_url,
            catalog=ctx.catalog,
        )

    return ctx.instance(NAME, make)


def _published_kinds(ctx: SyncContext, mode: str, *, owner_groups: bool) -> set[str]:
    """The kinds enabled families declare, as they will be published under ``customKinds``."""
    declared = set(ctx.enabled_kinds)
    groups = {"Group"} if owner_groups else set()
    if mode == "native":
        return declared | groups
    builtin = {k for k in declared if is_builtin(k)}
    # auto: which custom kinds stay as they are is Backstage's answer at the first publication;
    # until then only what every mode needs can be checked (Resource for the converted ones).
    converts = mode in ("resource", "auto") and bool(declared - builtin)
    return builtin | ({"Resource"} if converts else set()) | groups


@hookimpl
async def on_startup(ctx: SyncContext) -> None:
    sink = get_sink(ctx)
    settings = sink.settings
    server = ctx.config.openchoreo.server
    if settings.publish_url is None and server.host in WILDCARD_HOSTS:
        raise ConfigError(
            [
                f"openchoreo.plugins.backstage.publishUrl is required when openchoreo.server.host is "
                f"{server.host!r}: Backstage cannot read from a wildcard address; set the URL Backstage "
                "uses to reach this daemon, e.g. http://openchoreo-sync:7007"
            ]
        )
    kinds = _published_kinds(ctx, settings.custom_kinds, owner_groups=settings.owner_groups)
    for problem in kind_problems(kinds, ctx.config, needs_location=True):
        sink.log.warning(f"backstage preflight: {problem}")
    if settings.custom_kinds == "auto":
        sink.log.info(
            "backstage: customKinds auto: at the first publication Backstage is asked which OpenChoreo kinds it "
            "accepts; the others are published as Resource"
        )
    if settings.register_location:
        try:
            await sink.api().locations()
        except Exception as exc:  # Backstage may start after us
            sink.log.warning(
                "backstage preflight: the catalog API is not usable yet; publishing will retry every run",
                base_url=settings.base_url,
                error=f"{type(exc).__name__}: {exc}",
            )


@hookimpl
async def probe(ctx: SyncContext) -> list[ProbeResult]:
    settings: BackstageSettings = ctx.settings(NAME)
    register_secret(settings.token.get_secret_value())
    server = ctx.config.openchoreo.server
    local = None if server.host in WILDCARD_HOSTS else f"http://{server.host}:{server.port}"
    sink = BackstageSink(settings, ctx.config, ctx.log.bind(output=NAME), server_url=lambda: local)
    root = sink.publish_root()
    try:
        return await probe_backstage(
            sink.api(),
            settings.base_url,
            f"{root}/{INDEX_FILE}" if root else None,
            _published_kinds(ctx, "native", owner_groups=False),
            settings.custom_kinds,
        )
    finally:
        await sink.close()


@hookimpl
async def on_shutdown(ctx: SyncContext) -> None:
    if NAME in ctx.services.instances:
        await get_sink(ctx).close()


@hookimpl
def http_routes(ctx: SyncContext) -> Sequence[Any]:
    from .routes import published_routes  # the server stack, only where HTTP is served

    return published_routes(get_sink(ctx))


@hookimpl
async def emit(snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext) -> OutputReport:
    return await get_sink(ctx).emit(snapshot, changes, ctx)
