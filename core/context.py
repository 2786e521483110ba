"""What every hook receives: the run's identity, the configuration, a logger, the client for
fetching, and the daemon's long-lived services (the committed catalog, the server's URL) for outputs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from pydantic import BaseModel

from .config import AppConfig
from .model import Collection, Resource

if TYPE_CHECKING:
    from .kit.catalog import CatalogReader
    from .kit.sync_status import EventQueueState, SyncStatusReader

T = TypeVar("T")

SHARED_WALK_ITEMS = 100
"""The largest finished list walk a run keeps for other families (type lists have tens of items)."""
SHARED_WALK_BUDGET = 5_000
"""Items of finished walks a run keeps in all: many small namespaces must not add up to a big copy."""


class BoundLogger(Protocol):
    def debug(self, event: str, **kw: Any) -> Any: ...
    def info(self, event: str, **kw: Any) -> Any: ...
    def warning(self, event: str, **kw: Any) -> Any: ...
    def error(self, event: str, **kw: Any) -> Any: ...
    def bind(self, **kw: Any) -> BoundLogger: ...


class ApiClient(Protocol):
    """The part of the OpenChoreo client that plugins use (see ``openchoreo_sync.client``)."""

    async def list_all(self, path: str, params: Mapping[str, str] | None = None, *, what: str) -> list[dict[str, Any]]:
        """Every item of a paginated list, all pages walked; raises ``ApiError`` on failure."""
        ...

    async def get(self, path: str, *, what: str) -> dict[str, Any] | None:
        """One object; None when the API answers 404."""
        ...


@dataclass
class Services:
    """What lives as long as the daemon (or one command) and is shared by every context it makes.

    The core fills it: the engine with the catalog, the sync status and the enabled kinds, the
    daemon with the server's URL once it listens and its event queue. Plugins read it through
    :class:`SyncContext`'s properties.
    """

    catalog: CatalogReader | None = None
    enabled_kinds: frozenset[str] = frozenset()
    server_url: str | None = None
    sync_status: SyncStatusReader | None = None
    event_queue: EventQueueState | None = None
    instances: dict[str, Any] = field(default_factory=dict)
    reader_process: bool = False
    """True in a reader process (``openchoreo.server.readProcesses``): it serves reads only."""


@dataclass
class SyncContext:
    """Shared by every hook of one run (or of one event)."""

    run_id: str
    config: AppConfig
    log: BoundLogger
    plugin_settings: Mapping[str, BaseModel | Mapping[str, Any]] = field(default_factory=dict)
    client: ApiClient | None = None
    services: Services = field(default_factory=Services, repr=False)
    _namespaces: asyncio.Future[list[dict[str, Any]]] | None = field(default=None, repr=False)
    _walks: dict[tuple[str, tuple[tuple[str, str], ...]], asyncio.Future[list[dict[str, Any]]]] = field(
        default_factory=dict, repr=False
    )
    _kept_items: int = field(default=0, repr=False)

    @property
    def catalog(self) -> CatalogReader | None:
        """The committed catalog, read-only (None where no store is open, e.g. ``export``)."""
        return self.services.catalog

    @property
    def server_url(self) -> str | None:
        """The daemon's own HTTP server as clients reach it (``http://host:port``), once it serves."""
        return self.services.server_url

    @property
    def sync_status(self) -> SyncStatusReader | None:
        """Run records and reconcile state, read-only (None where no store is open)."""
        return self.services.sync_status

    @property
    def event_queue(self) -> EventQueueState | None:
        """The daemon's event queue (None when events are off or outside the daemon)."""
        return self.services.event_queue

    @property
    def in_reader_process(self) -> bool:
        """Whether these routes are built in a reader process, which serves reads and runs no sync.

        There a read may run on the event loop itself (no thread hop): nothing else needs the loop,
        and the daemon's public port is spread over several such processes.
        """
        return self.services.reader_process

    @property
    def enabled_kinds(self) -> frozenset[str]:
        """The Backstage kinds the enabled family plugins declare (``PluginInfo.kinds``)."""
        return self.services.enabled_kinds

    def instance(self, key: str, factory: Callable[[], T]) -> T:
        """The one ``factory()`` object of this daemon under ``key`` (a plugin's name), made on first use.

        For state an output keeps across runs and hooks (a client, a publication): every context
        the daemon makes shares it, while two daemons in one process (tests) never do.
        """
        if key not in self.services.instances:
            self.services.instances[key] = factory()
        return cast(T, self.services.instances[key])

    @property
    def default_owner(self) -> str:
        """The owner ref for entities whose resource names none: ``group:default/openchoreo-users``."""
        return self.config.openchoreo.default_owner_ref

    def settings(self, plugin_name: str) -> Any:
        """A plugin's validated settings (its declared model), or a plain dict when it declared none."""
        return self.plugin_settings.get(plugin_name, {})

    def require_client(self) -> ApiClient:
        if self.client is None:
            raise RuntimeError("this hook runs without an OpenChoreo client (fetch and refetch get one)")
        return self.client

    async def namespaces(self) -> list[dict[str, Any]]:
        """The OpenChoreo namespace list, walked once per run however many families ask.

        Every namespaced collection is scoped by it, so it is fetched by the core on behalf of all
        families; a failure raises and fails each family that needed it (their entities are kept).
        """
        if self._namespaces is None:
            from .kit.endpoints import NAMESPACES  # the kit's package imports this module

            self._namespaces = asyncio.ensure_future(self.require_client().list_all(NAMESPACES, what="namespaces"))
            # Shielded: when every family waiting on it is cancelled (shutdown mid-run) the walk
            # still ends, failing on the closed client; its error is then nobody's to retrieve,
            # and asyncio would print "Task exception was never retrieved" at exit.
            self._namespaces.add_done_callback(_retrieved)
        return await asyncio.shield(self._namespaces)

    async def namespace_names(self) -> list[str]:
        return [str(ns.get("metadata", {}).get("name")) for ns in await self.namespaces() if ns.get("metadata")]

    async def walk(
        self,
        name: str,
        path: str,
        *,
        kind: str,
        namespace: str | None = None,
        params: Mapping[str, str] | None = None,
        what: str | None = None,
    ) -> Collection:
        """Fetch one whole collection as :class:`Resource` objects, capturing a failure in it.

        The common case for a family: one list endpoint is one collection. Families that join
        several endpoints build their :class:`Collection` themselves.
        """
        described = what or (f"{name} for namespace {namespace}" if namespace else name)
        try:
            items = await self._shared_walk(path, params, described)
        except Exception as exc:  # one failed collection must not fail the family
            return Collection(name, namespace, error=exc)
        collection = Collection(name, namespace, [Resource(kind, item, namespace) for item in items])
        digest = getattr(items, "digest", None)  # the pages' digest (the client's ``Listed``)
        return collection.made_from(f"{kind} {digest}" if isinstance(digest, str) else None)

    async def _shared_walk(self, path: str, params: Mapping[str, str] | None, what: str) -> list[dict[str, Any]]:
        """One list walk per endpoint and query per run, however many families build collections of it.

        Families read the same lists for different entities (the types family and the templates
        family both list every namespace's component types): one run sees one answer, and the
        API gets each list once. The items are shared read-only, as every fetched body is. A walk
        in flight is always shared; a finished one is kept for later callers only while it is
        small (``SHARED_WALK_ITEMS``, ``SHARED_WALK_BUDGET`` in all), so a run never holds its big
        lists (components, workloads) past their mapping: keeping every list of a 50,000-component
        world doubled the sync's peak memory (271 to 620 MB).
        """
        key = (path, tuple(sorted((params or {}).items())))
        walk = self._walks.get(key)
        if walk is None:
            walk = asyncio.ensure_future(self.require_client().list_all(path, params, what=what))
            walk.add_done_callback(_retrieved)  # see namespaces(): shielded, so retrieved here
            walk.add_done_callback(lambda done: self._forget_big_walk(key, done))
            self._walks[key] = walk
        return await asyncio.shield(walk)

    def _forget_big_walk(self, key: tuple[str, tuple[tuple[str, str], ...]], walk: asyncio.Future[Any]) -> None:
        failed = walk.cancelled() or walk.exception() is not None
        items = 0 if failed else len(walk.result())
        if failed or items > SHARED_WALK_ITEMS or self._kept_items + items > SHARED_WALK_BUDGET:
            self._walks.pop(key, None)  # failed, big, or over the budget: a later caller walks again
        else:
            self._kept_items += items


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Mark a shared task's outcome as seen: its awaiting callers get it through ``shield``."""
    if not task.cancelled():
        task.exception()
