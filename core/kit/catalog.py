"""The committed catalog, read-only, for outputs that serve or compare it (``ctx.catalog``).

Every read sees whole snapshots: the engine commits a run in one transaction, and
``snapshot_version()`` changes with each commit, so a reader that needs several calls to agree
compares the version before and after (the ``embedded_catalog`` output does). The store the daemon
runs on (SQLite or PostgreSQL) implements this protocol; an output never writes to it.

Example (an output that counts entities by kind)::

    from openchoreo_sync.kit import hookimpl

    @hookimpl
    async def emit(snapshot, changes, ctx):
        if ctx.catalog is not None:
            ctx.log.info("catalog size", entities=ctx.catalog.count(), version=ctx.catalog.snapshot_version())
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..model import Entity, EntityRef
from ..search import MAX_VALUE_LENGTH
from ..store.base import IndexEntry, RunRecord
from ..store.changelog import DELETE, UPSERT, ChangeBatch, ChangePosition

__all__ = [
    "DELETE",
    "MAX_VALUE_LENGTH",
    "UPSERT",
    "Alternatives",
    "CatalogReader",
    "ChangeBatch",
    "ChangePosition",
    "IndexEntry",
    "RunRecord",
]

Alternatives = list[list[tuple[str, list[str] | None]]]
"""A filter as OR of ANDs: each inner list is ``(search key, accepted values or None for "exists")``.
Keys are lower-case dotted paths (``kind``, ``metadata.name``, ``spec.system``); values lower-case."""


class CatalogReader(Protocol):
    """Read access to the committed snapshot. Calls block (database reads): run them in a thread
    (``asyncio.to_thread``) from async code."""

    def snapshot_version(self) -> str | None:
        """The run id of the committed snapshot, or None before the first commit."""
        ...

    def count(self) -> int: ...

    def collection_times(self) -> dict[str, str]:
        """Collection key (``family:scope/name``) -> when it was last fetched completely and
        committed (ISO 8601 UTC, the run's start); collections never complete are left out."""
        ...

    def load_index(self) -> dict[EntityRef, IndexEntry]:
        """Every entity's ref with its content hash, collection, family and stale flag (no bodies)."""
        ...

    def index_entries(self, refs: Iterable[EntityRef]) -> dict[EntityRef, IndexEntry]:
        """``load_index`` restricted to ``refs`` (unknown refs are left out): a page's origins."""
        ...

    def families(self) -> dict[EntityRef, str]:
        """Every entity's ref with the family that produced it: ``load_index``'s family alone, for
        an output that needs no more (the whole index is ~23 MB of objects at 50k components)."""
        ...

    def load_bodies(self, refs: Iterable[EntityRef]) -> dict[EntityRef, Entity]:
        """The bodies of ``refs`` (relations included) as committed; unknown refs are left out."""
        ...

    def all_bodies(self) -> Iterable[tuple[EntityRef, Entity]]: ...

    def body_page(self, after: EntityRef, limit: int) -> list[tuple[EntityRef, Entity]]:
        """Up to ``limit`` bodies in ref order after ``after`` (``""`` to start): paging a snapshot."""
        ...

    def load_served(self, refs: Iterable[EntityRef]) -> dict[EntityRef, tuple[str, str | None]]:
        """The stored JSON text of ``refs`` with its etag, ready to serve without decoding."""
        ...

    def find_by_name(self, kind: str, namespace: str, name: str) -> tuple[EntityRef, str, str | None] | None:
        """One entity by kind, namespace and name (case-insensitive): its ref, stored JSON and etag."""
        ...

    def facet_counts(
        self, keys: list[str], alternatives: Alternatives | None = None
    ) -> list[tuple[str, str, int, EntityRef]]:
        """``(key, value, count, sample ref)`` per distinct value, counted by the database."""
        ...

    def change_position(self) -> ChangePosition:
        """Where the change log stands (newest sequence, oldest answerable position)."""
        ...

    def changes_since(self, since: int, limit: int = 1000) -> ChangeBatch:
        """The committed changes after sequence ``since`` (whole commits), or ``resync`` when too old."""
        ...

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest run records first: what ``openchoreo-sync status`` shows."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def match_refs(self, alternatives: Alternatives) -> list[EntityRef] | None:
        """Refs whose search rows satisfy ``alternatives``; None when the filter cannot be answered
        from search rows (the caller filters bodies itself)."""
        ...

    def search_values(
        self, keys: list[str], alternatives: Alternatives | None = None
    ) -> list[tuple[EntityRef, str, str | None]]:
        """``(ref, key, value)`` search rows for ``keys``, of the entities matching ``alternatives``.
        Values longer than :data:`MAX_VALUE_LENGTH` are stored as None."""
        ...

    def facets(self, keys: list[str], alternatives: Alternatives | None = None) -> dict[str, list[tuple[str, int]]]:
        """Value counts per key, over the entities matching ``alternatives``."""
        ...
