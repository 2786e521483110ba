"""A declarative family: a table of endpoints and mappers that implements the hooks for you.

Most OpenChoreo kinds are fetched the same way (one list endpoint per namespace, or one
cluster-scoped endpoint), mapped one resource at a time and re-fetched with one GET on an event.
:class:`TableFamily` is that family written once: declare the endpoints, the mapper of each wire
kind and (optionally) a relator, and register the object as your plugin. It implements
``plugin_info``, ``fetch``, ``map_resource``, ``relate`` and ``refetch``; a family that joins
several endpoints per resource writes its hooks by hand instead (see the ``components`` family).

Example (a whole plugin; the entry point names ``my_package.widgets:family``)::

    from openchoreo_sync.kit import TableFamily
    from openchoreo_sync.kit.endpoints import Endpoint

    family = TableFamily(
        description="Widgets, namespaced and cluster-scoped",
        endpoints=(Endpoint("widgets", "Widget"), Endpoint("clusterwidgets", "ClusterWidget", cluster=True)),
        mappers={"Widget": map_widget, "ClusterWidget": map_cluster_widget},
        kinds={"Widget": "Widget", "ClusterWidget": "ClusterWidget"},
        relate=widget_relations,
    )
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..context import SyncContext
from ..hookspecs import hookimpl
from ..model import Collection, Entity, Refetched, Relation, Resource, ResourceEvent
from ..plugin_info import PluginInfo
from ..snapshot import EntityIndex
from .endpoints import Endpoint, by_event_kind
from .fetching import fetch_endpoints, refetch_endpoint

Mapper = Callable[[Resource, SyncContext], Entity | Sequence[Entity]]
"""Maps one resource of the wire kind it is registered for; raise ``ValueError`` to skip it."""
Relator = Callable[[EntityIndex, SyncContext], Iterable[Relation]]
"""Yields the relations held by the family's entities (forward direction only)."""


@dataclass(frozen=True, eq=False)
class TableFamily:
    """A family plugin declared as data; register an instance (entry point ``package.module:family``)."""

    description: str
    endpoints: tuple[Endpoint, ...]
    mappers: Mapping[str, Mapper]
    """wire kind -> mapper; every endpoint's kind needs one"""
    kinds: Mapping[str, str]
    """wire kind -> the Backstage kind it becomes (for ``plugin_info`` and the README table)"""
    relations: Relator | None = None
    events: bool = True
    """Re-fetch one object on an OpenChoreo event for any of the endpoints' kinds."""
    relation_pairs: tuple[tuple[str, str], ...] = ()
    default_enabled: bool = True
    _by_event_kind: dict[str, Endpoint] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = sorted({e.kind for e in self.endpoints} - set(self.mappers))
        if missing:
            raise ValueError(f"TableFamily {self.description!r}: no mapper for kind(s) {', '.join(missing)}")
        object.__setattr__(self, "_by_event_kind", by_event_kind(self.endpoints) if self.events else {})

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(
            description=self.description,
            kinds=tuple(dict.fromkeys(self.kinds.values())),
            mapping=tuple(self.kinds.items()),
            event_kinds=tuple(self._by_event_kind),
            relation_pairs=self.relation_pairs,
            default_enabled=self.default_enabled,
            inputs_only=True,  # a table maps each resource with its declared mapper functions alone
        )

    @hookimpl
    def fetch(self, ctx: SyncContext) -> AsyncIterator[Collection]:
        return fetch_endpoints(ctx, self.endpoints)

    @hookimpl
    def map_resource(self, resource: Resource, ctx: SyncContext) -> list[Entity] | None:
        mapper = self.mappers.get(resource.kind)
        if mapper is None:
            return None
        produced = mapper(resource, ctx)
        return [produced] if isinstance(produced, dict) else list(produced)

    @hookimpl
    def relate(self, entities: EntityIndex, ctx: SyncContext) -> list[Relation]:
        return [] if self.relations is None else list(self.relations(entities, ctx))

    @hookimpl
    def refetch(self, event: ResourceEvent, ctx: SyncContext) -> Awaitable[Refetched] | None:
        return refetch_endpoint(event, ctx, self._by_event_kind)
