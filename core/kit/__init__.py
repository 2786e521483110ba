"""The plugin kit: everything a family or output plugin may use, and nothing else.

A plugin imports only ``openchoreo_sync`` (the data types), ``openchoreo_sync.kit`` and its
modules, ``openchoreo_sync.relations``, its own package and third-party libraries; a test
(``tests/core/test_plugin_boundary.py``) holds the built-ins to that, so a third party copying a
built-in depends on nothing internal. The modules, each with an example in its docstring:

- :mod:`~openchoreo_sync.kit.cr`: read fields of OpenChoreo API objects (one rule for missing text).
- :mod:`~openchoreo_sync.kit.entities`: build Backstage entities; name and tag checks.
- :mod:`~openchoreo_sync.kit.refs`: resolve references held in entity fields into relations.
- :mod:`~openchoreo_sync.kit.endpoints`: the Platform API's paths (the only place ``/api/v1`` is written).
- :mod:`~openchoreo_sync.kit.fetching`: bounded, as-they-complete fetching of collections.
- :mod:`~openchoreo_sync.kit.table`: :class:`TableFamily`, a family declared as a table.
- :mod:`~openchoreo_sync.kit.publishing`: clean, dump and rules-filter entities for a Backstage.
- :mod:`~openchoreo_sync.kit.catalog`: the read-only committed catalog (``ctx.catalog``).
- :mod:`~openchoreo_sync.kit.sync_status`: the sync's own health, read-only (``ctx.sync_status``).
- :mod:`~openchoreo_sync.kit.http`: serving routes on the daemon's server.
- :mod:`~openchoreo_sync.kit.httpapi`: a careful client for a second HTTP API (offset paging too).
- :mod:`~openchoreo_sync.kit.schedule`: collections refreshed on their own schedule.
- :func:`~openchoreo_sync.kit.paused_gc`: no cyclic GC while a large cycle-free structure is built.

The names below are re-exported for convenience (``from openchoreo_sync.kit import hookimpl, cr``).
See ``docs/hooks.md`` for the hooks and ``docs/architecture.md`` for where plugins sit.
"""

import importlib
from types import ModuleType

from .. import relations
from ..config import AppConfig, plain_seconds
from ..context import SyncContext
from ..errors import ConfigError, ResourceSkipped
from ..gcpause import paused_gc
from ..hookspecs import hookimpl
from ..logs import register_secret
from ..model import (
    Collection,
    CollectionKey,
    Entity,
    EntityRef,
    Refetched,
    Relation,
    Resource,
    ResourceEvent,
    entity_ref,
    joined_inputs,
    make_ref,
    normalize_ref,
    parse_ref,
    source_id,
)
from ..output_report import OutputReport
from ..plugin_info import PluginInfo
from ..probe_result import ProbeResult
from ..snapshot import ChangeSet, EntityIndex, SnapshotView
from . import catalog, cr, endpoints, entities, fetching, httpapi, publishing, refs, schedule, sync_status
from .catalog import CatalogReader
from .sync_status import EventQueueState, RunRecord, SyncStatusReader
from .table import TableFamily

__all__ = [
    "AppConfig",
    "CatalogReader",
    "ChangeSet",
    "Collection",
    "CollectionKey",
    "ConfigError",
    "Entity",
    "EntityIndex",
    "EntityRef",
    "EventQueueState",
    "OutputReport",
    "PluginInfo",
    "ProbeResult",
    "Refetched",
    "Relation",
    "Resource",
    "ResourceEvent",
    "ResourceSkipped",
    "RunRecord",
    "SnapshotView",
    "SyncContext",
    "SyncStatusReader",
    "TableFamily",
    "catalog",
    "cr",
    "endpoints",
    "entities",
    "entity_ref",
    "fetching",
    "hookimpl",
    "http",
    "httpapi",
    "joined_inputs",
    "make_ref",
    "normalize_ref",
    "parse_ref",
    "paused_gc",
    "plain_seconds",
    "publishing",
    "refs",
    "register_secret",
    "relations",
    "schedule",
    "source_id",
    "sync_status",
]


def __getattr__(name: str) -> ModuleType:
    """``kit.http`` is imported on first use: it brings the server stack (starlette, uvicorn, ~0.1 s),
    which a command serving nothing (``export``, ``once``, ``plan``) would otherwise pay at every start."""
    if name == "http":
        return importlib.import_module(f"{__name__}.http")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
