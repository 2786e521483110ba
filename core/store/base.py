"""What the engine and the read API need from a state store, independent of the database.

The store is the daemon's memory between runs: the last good snapshot (entity bodies and their
search rows), which collection each entity came from and when that collection was last fetched
completely, pending removals, run records, approvals of guarded runs, and each output's progress.
Everything a run changes is committed in one transaction, so readers always see a whole snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..model import Entity, EntityRef
from .changelog import ChangeBatch, ChangePosition

if TYPE_CHECKING:
    from .staging import FirstCommitStage, StagedRows


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the engine remembers of an entity without loading its body."""

    hash: str
    collection: str
    family: str
    stale: bool = False
    source: str = ""


@dataclass
class RunRecord:
    """One run's outcome, as ``openchoreo-sync status`` shows it."""

    run_id: str
    started_at: str
    finished_at: str | None = None
    status: str = "running"
    trigger: str = "schedule"
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EntityWrite:
    ref: EntityRef
    entity: Entity
    body: str
    hash: str
    collection: str
    family: str
    stale: bool
    source: str = ""
    plain: bool = False
    """the entity is plain JSON data (``serialization.plain_data``): a first commit may use its
    staged search rows (``staging``); False (unknown) makes it compute them all"""


@dataclass
class Commit:
    """Everything one run (or one event delta) changes, applied atomically."""

    run: RunRecord
    writes: Iterable[EntityWrite] = field(default_factory=list)
    """May be a generator: the store consumes it inside the transaction, so a first sync's
    serialised bodies never all sit in memory at once."""
    before_run_record: Callable[[], None] | None = None
    """Called after the writes were consumed, before ``run`` is written (to fill its summary)."""
    removals: list[EntityRef] = field(default_factory=list)
    collections_ok: dict[str, str] = field(default_factory=dict)
    """collection key -> time it was fetched completely in this run"""
    collections_failed: dict[str, str] = field(default_factory=dict)
    """collection key -> error text"""
    pending_removals: dict[EntityRef, int] = field(default_factory=dict)
    """the full new set of pending removals (ref -> consecutive complete runs absent)"""
    replace_pending: bool = True
    consumed_approval: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    """small named values kept with the snapshot (``empty_streaks``: the empty-collection counts)"""
    staged: StagedRows | None = None
    """a first commit's search rows made while fetching (``staging``); used only where valid"""
    in_ref_order: bool = False
    """``writes`` come in ascending ref order (``serialization.iter_writes(in_ref_order=True)``):
    a first commit into SQLite then gives the entities their ids as it writes them, the ids a
    first commit gives (in ref order), instead of staging the rows and renumbering them at the
    end. A write out of that order fails the commit (nothing is written)."""

    def release(self) -> None:
        """Let go of the run's data once the store has applied this commit (never before: a
        cancelled caller's commit goes on in its thread). Rebinds rather than empties, since the
        lists may be the caller's own."""
        self.writes = ()
        self.before_run_record = None
        self.removals = []
        self.pending_removals = {}
        self.staged = None


class StateStore(Protocol):
    """Implemented by the SQLite and PostgreSQL stores (``openchoreo_sync.store.sql``)."""

    def migrate(self) -> None: ...

    def close(self) -> None: ...

    def load_index(self) -> dict[EntityRef, IndexEntry]: ...

    def load_bodies(self, refs: Iterable[EntityRef]) -> dict[EntityRef, Entity]: ...

    def load_served(self, refs: Iterable[EntityRef]) -> dict[EntityRef, tuple[str, str | None]]: ...

    def find_by_name(self, kind: str, namespace: str, name: str) -> tuple[EntityRef, str, str | None] | None: ...

    def refs_by_sources(self, sources: Iterable[str]) -> list[EntityRef]: ...

    def index_entries(self, refs: Iterable[EntityRef]) -> dict[EntityRef, IndexEntry]: ...

    def families(self) -> dict[EntityRef, str]: ...

    def content_digest(self) -> str:
        """A digest of every entity's ref and content hash: equal digests, equal bodies."""
        ...

    def load_collection_bodies(self, collections: Iterable[str]) -> dict[EntityRef, Entity]: ...

    def collection_sizes(self, collections: Iterable[str]) -> dict[str, int]: ...

    def collection_times(self) -> dict[str, str]: ...

    def pending_removals(self) -> dict[EntityRef, int]: ...

    def commit(self, commit: Commit) -> None: ...

    def first_commit_stage(self) -> FirstCommitStage | None:
        """A stage for the search rows of a first commit into this empty store (``staging``), or
        None (not empty, or a backend that does not stage)."""
        ...

    def record_run(self, run: RunRecord) -> None: ...

    def recent_runs(self, limit: int = 20) -> list[RunRecord]: ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def approve(self, run_id: str) -> None: ...

    def approvals(self) -> set[str]: ...

    def output_state(self, name: str) -> tuple[str | None, bool]: ...

    def set_output_state(self, name: str, run_id: str, needs_full: bool) -> None: ...

    def snapshot_version(self) -> str | None: ...

    def meta_value(self, key: str) -> str | None: ...

    def count(self) -> int: ...

    def body_page(self, after: EntityRef, limit: int) -> list[tuple[EntityRef, Entity]]: ...

    def change_position(self) -> ChangePosition: ...

    def changes_since(self, since: int, limit: int = 1000) -> ChangeBatch: ...

    def all_bodies(self) -> Iterable[tuple[EntityRef, Entity]]: ...

    def all_bodies_with_digest(self) -> tuple[list[tuple[EntityRef, Entity]], str]:
        """``all_bodies`` and the ``content_digest`` of what it read, from one statement."""
        ...

    def match_refs(self, alternatives: list[list[tuple[str, list[str] | None]]]) -> list[EntityRef] | None: ...

    def search_values(
        self, keys: list[str], alternatives: list[list[tuple[str, list[str] | None]]] | None = None
    ) -> list[tuple[EntityRef, str, str | None]]: ...

    def facets(
        self, keys: list[str], alternatives: list[list[tuple[str, list[str] | None]]] | None = None
    ) -> dict[str, list[tuple[str, int]]]: ...

    def facet_counts(
        self, keys: list[str], alternatives: list[list[tuple[str, list[str] | None]]] | None = None
    ) -> list[tuple[str, str, int, EntityRef]]: ...

    def try_lead(self) -> bool: ...

    def health(self) -> str | None:
        """What is degraded about the store (read-only, leader election failing), or None."""
        ...

    def recover(self) -> bool:
        """Try to leave a degraded mode (reopen writable); True when the store can be written."""
        ...
