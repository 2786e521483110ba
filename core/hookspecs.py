"""The hooks a plugin can implement, in the order a sync calls them.

A *family* plugin (one OpenChoreo kind family) implements ``plugin_info``, ``fetch``,
``map_resource`` and ``relate``, and usually ``refetch`` for events. An *output* plugin implements
``plugin_info`` and ``emit`` (and may add HTTP routes). Import ``hookimpl`` from
``openchoreo_sync.kit`` (the plugin kit, everything a plugin may use) to implement one. Every
hook receives keyword arguments by name, so an implementation may accept any subset of a hook's
parameters. The core calls them through one runner, ``openchoreo_sync.hooks``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from .model import Collection, Entity, Refetched, Relation, Resource, ResourceEvent

if TYPE_CHECKING:
    from .context import SyncContext
    from .output_report import OutputReport
    from .plugin_info import PluginInfo
    from .probe_result import ProbeResult
    from .snapshot import ChangeSet, EntityIndex, SnapshotView

PROJECT = "openchoreo_sync"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- lifecycle -----------------------------------------------------------------------------------


@hookspec
def plugin_info() -> PluginInfo:
    """Describe the plugin: the Backstage kinds it produces, its settings model, extra relations.

    Called once at start-up, before configuration of plugins is validated. Return one
    :class:`~openchoreo_sync.plugin_info.PluginInfo`. All results are collected (one per plugin).
    """


@hookspec
def http_routes(ctx: SyncContext) -> Sequence[Any] | None:
    """Starlette routes to mount on the daemon's HTTP server (``openchoreo-sync run``).

    Called once when the server starts. Return a list of ``starlette.routing.Route`` /
    ``Mount`` objects or None. All results are collected; a path served twice is a start-up error.
    """


@hookspec
def on_startup(ctx: SyncContext) -> Awaitable[None] | None:
    """The daemon is starting (after config validation, before the first run). May be async.

    Use it to open connections or check a remote system. All implementations are called; one that
    raises stops the daemon with a ``PluginError`` naming the plugin (a ``ConfigError`` is passed
    on as it is, since it already names the key to change).
    """


@hookspec
def on_shutdown(ctx: SyncContext) -> Awaitable[None] | None:
    """The daemon is stopping; close what ``on_startup`` opened. May be async. All are called."""


@hookspec
def probe(ctx: SyncContext) -> Awaitable[Iterable[ProbeResult]] | Iterable[ProbeResult] | None:
    """``openchoreo-sync check --probe``: check the remote systems this plugin talks to. May be async.

    Called once per probe, without an OpenChoreo client and without a state store. Return one
    :class:`~openchoreo_sync.ProbeResult` per check, each ending in a sentence that says what to
    change when it failed. All implementations are called; one that raises is reported as failed.
    """


# --- fetch ---------------------------------------------------------------------------------------


@hookspec
def fetch(ctx: SyncContext) -> AsyncIterator[Collection] | Awaitable[Iterable[Collection]] | None:
    """Fetch the raw OpenChoreo resources of this family's kinds, as :class:`Collection` objects.

    Called once per full sync, for every enabled plugin, all concurrently. ``ctx.client`` is the
    shared OpenChoreo client (auth, pagination, retries and the global concurrency limit are the
    core's); ``ctx.namespaces()`` is the namespace list, walked once for all families;
    ``ctx.walk(...)`` fetches one list endpoint as one collection. Either an async generator that
    yields collections as they complete (preferred: mapping starts at once and raw pages are freed
    early) or a coroutine returning them all.

    A collection that failed is returned with ``error`` set: its entities from the last good run
    are kept, marked stale. An exception escaping the hook fails the whole family the same way.
    All results are collected; each plugin owns the collections it returns.

    Fetched bodies are read-only. A collection from ``ctx.walk`` is digested by its pages' bytes
    while its ``resources`` list is the one the walk made; replace the list (not edit it in place)
    to add what else the resources carry. A family that joins walks in memory may say so with
    ``Collection(...).made_from(kit.joined_inputs(*walks))``.
    """


# --- map -----------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def map_resource(resource: Resource, ctx: SyncContext) -> list[Entity] | None:
    """Turn one raw resource into zero or more Backstage entities (plain dicts).

    Called for every resource of every collection that was fetched completely, and for events.
    Return None when the resource's ``kind`` is not yours. Stops at the first non-None result:
    to **override** a built-in mapper for one kind, implement this with ``@hookimpl(tryfirst=True)``
    and return a list only for that kind. Raise to reject the one resource (it is reported with
    the error and skipped; the run goes on).
    """


@hookspec
def decorate_entity(entity: Entity, resource: Resource, ctx: SyncContext) -> None:
    """Adjust an entity another plugin mapped (add annotations, tags, links) by mutating it in place.

    Called for every entity ``map_resource`` produced, after mapping and before validation. All
    implementations are called, in pluggy's order (last registered first); return values are ignored.
    """


# --- relate --------------------------------------------------------------------------------------


@hookspec
def relate(entities: EntityIndex, ctx: SyncContext) -> Iterable[Relation] | None:
    """Report the relations of the entities your plugin understands, one direction each.

    Called once per run, after every entity of the snapshot is mapped (carried-forward ones too),
    with an index over the whole set. Return each relation from the entity that holds the
    reference (``Relation(source, type, target)``); the core adds the inverse (see
    ``openchoreo_sync.relations``), removes duplicates, attaches ``relations`` to the entities and
    reports references to entities that do not exist. A plugin may also fill cross-references in
    entities it owns (mutate them). All results are collected.
    """


# --- emit ----------------------------------------------------------------------------------------


@hookspec
def emit(
    snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext
) -> Awaitable[OutputReport | None] | OutputReport | None:
    """Write a finished snapshot to an output. May be async.

    Called after a committed run or event delta that changed something for this output: when
    ``changes`` would be empty (nothing added, changed or removed and no full reconcile pending)
    the output is not called, unless its ``PluginInfo.emit_every_run`` is set (then after every
    committed run). ``changes`` lists the refs added, changed and removed against the previous
    snapshot; ``changes.full`` is True when the output must reconcile everything (first run, or
    after a failed emit). Outputs run concurrently; one that raises is recorded as failed for the
    run (the run is ``partial``) and gets a full reconcile next time. Return an
    :class:`~openchoreo_sync.OutputReport` with problems when the target refused part of what was
    published: the run is ``partial`` and ``status`` lists the problems. All implementations are called.
    """


# --- events --------------------------------------------------------------------------------------


@hookspec
def refetch(event: ResourceEvent, ctx: SyncContext) -> Awaitable[Refetched | None] | None:
    """Re-fetch the one resource an OpenChoreo event names, for a near-real-time update.

    Called for each (coalesced) event. Return None when ``event.kind`` (compare lower-case) is not
    one of yours; otherwise a :class:`Refetched` whose collection holds the re-fetched resources
    (with the same joins as a full sync) or ``gone=True`` on 404. Raise on any other error: the
    event then changes nothing of yours. Every plugin's answer is applied, each as its own delta
    (one kind may feed several families: a ComponentType is its own entity and a Template's source).
    """
