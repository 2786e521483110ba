"""openchoreo-catalog-sync: mirror an OpenChoreo control plane into a Backstage software catalog.

The public surface for plugin authors is re-exported here: ``hookimpl`` to implement hooks, the
data types hooks receive and return, and ``relations`` for relation names.
"""

from . import relations
from .context import SyncContext
from .hookspecs import hookimpl
from .model import (
    Collection,
    CollectionKey,
    Entity,
    EntityRef,
    Refetched,
    Relation,
    Resource,
    ResourceEvent,
    entity_ref,
    make_ref,
    normalize_ref,
    parse_ref,
)
from .output_report import OutputReport
from .plugin_info import PluginInfo
from .probe_result import ProbeResult
from .snapshot import ChangeSet, EntityIndex, SnapshotView

__version__ = "0.1.0"

__all__ = [
    "ChangeSet",
    "Collection",
    "CollectionKey",
    "Entity",
    "EntityIndex",
    "EntityRef",
    "OutputReport",
    "PluginInfo",
    "ProbeResult",
    "Refetched",
    "Relation",
    "Resource",
    "ResourceEvent",
    "SnapshotView",
    "SyncContext",
    "__version__",
    "entity_ref",
    "hookimpl",
    "make_ref",
    "normalize_ref",
    "parse_ref",
    "relations",
]
