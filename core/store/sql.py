"""The state store over SQL, shared by the SQLite and PostgreSQL backends.

Both speak the same schema and statements; a backend supplies connections, its placeholder style
and its leader election. Each thread gets its own connection, so the read API's threads never
block on (or see half of) a run's commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ..logs import redact_value
from ..model import Entity, EntityRef
from ..search import relation_rows, search_rows
from . import changelog, search_table
from .base import Commit, EntityWrite, IndexEntry, RunRecord
from .bodies import decode_body, load_body
from .changelog import ChangeBatch, ChangePosition
from .search_table import NO_VALUE, KeyIds, filter_values, served_value, stored_value
from .served import served_etag
from .staging import FirstCommitStage, StagedRows

SCHEMA_VERSION = 4

_KEY_ID = "(SELECT id FROM search_keys WHERE key = ?)"
"""A search key's id, looked up inside the statement that filters on it (for a key not known to
exist when the query was built: a commit may add it before the statement runs)."""

SearchRow = tuple[int, str, int]
"""(key id, stored value, entity id): one row of the search table (``search_table``)."""

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS entities (
            ref TEXT PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
            collection TEXT NOT NULL, family TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL,
            stale INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX IF NOT EXISTS entities_collection ON entities (collection)",
        "CREATE INDEX IF NOT EXISTS entities_source ON entities (source)",
        "CREATE TABLE IF NOT EXISTS search (ref TEXT NOT NULL, key TEXT NOT NULL, value TEXT)",
        "CREATE INDEX IF NOT EXISTS search_key_value ON search (key, value)",
        "CREATE INDEX IF NOT EXISTS search_ref ON search (ref)",
        """CREATE TABLE IF NOT EXISTS collections (
            key TEXT PRIMARY KEY, last_ok_at TEXT, last_error TEXT, last_error_at TEXT)""",
        """CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
            trigger_name TEXT NOT NULL, summary TEXT NOT NULL)""",
        "CREATE TABLE IF NOT EXISTS pending_removals (ref TEXT PRIMARY KEY, misses INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS approvals (run_id TEXT PRIMARY KEY, approved_at TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS outputs (
            name TEXT PRIMARY KEY, last_run_id TEXT, needs_full INTEGER NOT NULL DEFAULT 0)""",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
    2: changelog.MIGRATION,
    3: [
        # The read API's etag, computed at commit (``served.served_etag``); rows already stored
        # get theirs from ``_backfill_etags`` right after these statements.
        "ALTER TABLE entities ADD COLUMN etag TEXT",
        # by-name by index, case-insensitively (Backstage compares whole refs lower-cased; kind and
        # namespace are stored lower-cased already, entity names are ASCII by Backstage's rules).
        "CREATE INDEX IF NOT EXISTS entities_name ON entities (kind, namespace, lower(name))",
        # A covering index for the read API (see SEARCH_INDEXES) in place of (key, value).
        "DROP INDEX IF EXISTS search_key_value",
        "CREATE INDEX IF NOT EXISTS search_key_value_ref ON search (key, value, ref)",
    ],
    # 4: per backend, ``search_table.STEP_4``, then the search rows rebuilt from the bodies.
}


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _chunks(items: Iterable[Any], size: int = 500) -> Iterator[list[Any]]:
    """Lists of at most ``size`` items; a generator is consumed lazily, one chunk at a time."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@dataclass
class BulkLoad:
    """What a first commit's writes leave for ``_bulk_load_end`` to finish."""

    first_id: int = 0
    """the id the commit's entities are numbered from"""
    renumbered: bool = False
    """the entity rows were staged (``_bulk_entities``): their ids are given again, in ref order
    from ``first_id``, when they are copied over; else they were written in place with their ids"""
    staged: StagedRows | None = None
    """rows made while fetching, in the attached ``stage`` database, for some of the entities"""
    written: int = 0
    """entities the commit wrote"""
    staged_ids: list[tuple[int, int]] = field(default_factory=list)
    """(provisional id, id) of each staged entity written in place (not renumbered)"""


class SqlStore(ABC):
    """Common implementation; subclasses provide ``_connect`` and may override leader election."""

    placeholder = "?"
    dialect = "sqlite"

    def __init__(self) -> None:
        self._local = threading.local()
        self._all_connections: list[Any] = []
        self._lock = threading.Lock()
        self._key_ids: dict[str, int] = {}
        """Search key -> id, for the keys this process has looked up: a key keeps its id for as
        long as the store exists (keys are never deleted or renumbered), so an id found once is
        right in every later snapshot. Queries name known keys by id (a literal the planner
        has statistics for: PostgreSQL planned ``key_id = (SELECT ...)`` for ~20 rows where
        ``kind`` has 14k and chose nested loops)."""

    # --- connections ---------------------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any:
        """A new DB-API connection for the calling thread."""

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all_connections.append(conn)
        return conn

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        conn = self._conn()
        cur = conn.cursor()
        try:
            self._begin(cur)
            yield cur
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()

    def _begin(self, cur: Any) -> None:  # noqa: B027 - optional hook; the default (implicit BEGIN) is right for PostgreSQL
        """Start a write transaction (SQLite takes the write lock up front)."""

    def _query(self, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        conn = self._conn()
        cur = conn.cursor()
        try:
            cur.execute(self._sql(statement), tuple(params))
            rows = cur.fetchall()
        finally:
            cur.close()
        self._end_read(conn)
        return list(rows)

    def _end_read(self, conn: Any) -> None:
        """Close the implicit read transaction so the next read sees the newest snapshot."""
        conn.rollback()

    def close(self) -> None:
        with self._lock:
            for conn in self._all_connections:
                with contextlib.suppress(Exception):  # closing is best effort at shutdown
                    conn.close()
            self._all_connections.clear()
        self._local = threading.local()

    # --- schema --------------------------------------------------------------------------------

    def migrate(self) -> None:
        with self._transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            cur.execute(self._sql("SELECT value FROM meta WHERE key = ?"), ("schema_version",))
            row = cur.fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                from ..errors import StoreError

                raise StoreError(
                    f"the state store has schema version {current}, newer than this daemon's "
                    f"{SCHEMA_VERSION}; upgrade openchoreo-catalog-sync"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                statements = search_table.STEP_4[self.dialect] if version == 4 else MIGRATIONS[version]
                for statement in statements:
                    cur.execute(statement)
                if version == 3:
                    self._backfill_etags(cur)
                if version == 4:
                    self._rebuild_search(cur)
                self._upsert_meta(cur, "schema_version", str(version))

    def _rebuild_search(self, cur: Any) -> None:
        """Step 4's data part: every stored body's search rows, recomputed from the body (the
        rows the commit would have written for it), and the body re-encoded in this backend's form
        (compressed on SQLite). One pass in the migration's transaction, by id ranges."""
        sql = self._sql
        keys = KeyIds(self._fetch_all(cur, "SELECT key, id FROM search_keys"))
        table = self._bulk_load_begin(cur)
        last = 0
        while True:
            cur.execute(sql("SELECT id, body FROM entities WHERE id > ? ORDER BY id LIMIT 1000"), (last,))
            batch = cur.fetchall()
            if not batch:
                break
            rows: list[SearchRow] = []
            encoded: list[tuple[Any, int]] = []
            for entity_id, body in batch:
                text = decode_body(body)
                _add_rows(rows, keys, json.loads(text), int(entity_id))
                stored = self._encode_body(text)
                if stored != body:
                    encoded.append((stored, int(entity_id)))
                last = int(entity_id)
            if encoded:
                cur.executemany(sql("UPDATE entities SET body = ? WHERE id = ?"), encoded)
            self._insert_keys(cur, keys)
            self._insert_search_rows(cur, rows, table)
        self._bulk_load_end(cur)
        self._upsert_meta(cur, search_table.ENTITY_ID_KEY, str(last))
        self._upsert_meta(cur, search_table.ROWS_VERSION_KEY, search_table.ROWS_VERSION)

    def _fetch_all(self, cur: Any, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        cur.execute(self._sql(statement), tuple(params))
        return list(cur.fetchall())

    def _encode_body(self, text: str) -> Any:
        """A body as this backend stores it (SQLite compresses, see ``bodies``; PostgreSQL keeps text)."""
        return text

    def _bulk_load_begin(self, cur: Any) -> str:
        """Prepare loading search rows into an empty table; returns the table to insert them into.

        Default (PostgreSQL): drop the indexes (rebuilt by :meth:`_bulk_load_end` in one sort each
        instead of ~36 index inserts per entity). Readers of the still-empty catalog wait for the
        first snapshot instead of seeing none, which they could not use anyway."""
        for index in search_table.BULK_INDEXES[self.dialect]:
            cur.execute(f"DROP INDEX IF EXISTS {index}")
        return "search"

    def first_commit_stage(self) -> FirstCommitStage | None:
        """No stage by default (PostgreSQL loads its first commit by ``COPY`` at commit)."""
        return None

    def _bulk_entities(self, cur: Any, in_ref_order: bool = False) -> str:
        """Where a first commit writes its entity rows (default: in place, ids in write order;
        ``in_ref_order``: the writes come in ref order)."""
        return "entities"

    def _bulk_load_end(self, cur: Any, load: BulkLoad | None = None) -> None:
        """Finish a bulk load (``load``: what a first commit's writes left to finish; None when
        a migration rebuilt the search rows)."""
        for statement in search_table.BULK_INDEXES[self.dialect].values():
            cur.execute(statement)

    def _insert_keys(self, cur: Any, keys: KeyIds) -> None:
        added = keys.take_added()
        if added:
            cur.executemany(self._sql("INSERT INTO search_keys (id, key) VALUES (?, ?)"), added)

    def _backfill_etags(self, cur: Any) -> None:
        """Step 3's data part: the served etag of every stored body, so an upgraded store serves
        its unchanged entities undecoded too (the engine rewrites only what changes). One pass, in
        the migration's transaction, a batch of rows at a time."""
        cur.execute("SELECT ref, body FROM entities")
        pending: list[tuple[str, str]] = []
        while rows := cur.fetchmany(2000):
            for ref, body in rows:
                body = decode_body(body)
                etag = served_etag(json.loads(body), body)
                if etag is not None:
                    pending.append((etag, ref))
        for chunk in _chunks(pending, 2000):
            cur.executemany(self._sql("UPDATE entities SET etag = ? WHERE ref = ?"), chunk)

    def _upsert_meta(self, cur: Any, key: str, value: str) -> None:
        cur.execute(
            self._sql(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            (key, value),
        )

    # --- snapshot ------------------------------------------------------------------------------

    def _batched_rows(self, statement: str) -> Iterator[Any]:
        """Every row of ``statement``, fetched 2,000 at a time (a whole-table read of ~70k rows at
        50k components holds one batch of tuples, not all of them); read to its end."""
        conn = self._conn()
        cur = conn.cursor()
        try:
            cur.execute(statement)
            while rows := cur.fetchmany(2000):
                yield from rows
        finally:
            cur.close()
        self._end_read(conn)

    def load_index(self) -> dict[EntityRef, IndexEntry]:
        """Every entity's hash and origin, with the few distinct collection and family names
        shared, because at 50k components this runs over ~70k rows every sync."""
        rows = self._batched_rows("SELECT ref, hash, collection, family, stale, source FROM entities")
        return {
            ref: IndexEntry(digest, sys.intern(collection), sys.intern(family), bool(stale), source)
            for ref, digest, collection, family, stale, source in rows
        }

    def families(self) -> dict[EntityRef, str]:
        """Every entity's family (the few distinct names shared)."""
        return {ref: sys.intern(family) for ref, family in self._batched_rows("SELECT ref, family FROM entities")}

    def content_digest(self) -> str:
        """A digest of every entity's ref and content hash, in ref order: equal digests, equal
        bodies (relations included), without reading a body (~25 ms at 10k components)."""
        return _content_digest(self._batched_rows("SELECT ref, hash FROM entities"))

    def index_entries(self, refs: Iterable[EntityRef]) -> dict[EntityRef, IndexEntry]:
        """``load_index`` restricted to ``refs`` (those not stored are left out)."""
        out: dict[EntityRef, IndexEntry] = {}
        for chunk in _chunks(list(refs)):
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT ref, hash, collection, family, stale, source FROM entities WHERE ref IN ({marks})", chunk
            )
            out.update({r[0]: IndexEntry(r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows})
        return out

    def refs_by_sources(self, sources: Iterable[str]) -> list[EntityRef]:
        """Refs of the entities produced by these raw resources (see ``Resource.source_id``)."""
        out: list[EntityRef] = []
        for chunk in _chunks(list(sources)):
            marks = ",".join("?" * len(chunk))
            out.extend(r[0] for r in self._query(f"SELECT ref FROM entities WHERE source IN ({marks})", chunk))
        return out

    def load_bodies(self, refs: Iterable[EntityRef]) -> dict[EntityRef, Entity]:
        out: dict[EntityRef, Entity] = {}
        for chunk in _chunks(list(refs)):
            marks = ",".join("?" * len(chunk))
            for ref, body in self._query(f"SELECT ref, body FROM entities WHERE ref IN ({marks})", chunk):
                out[ref] = load_body(body)
        return out

    def load_served(self, refs: Iterable[EntityRef]) -> dict[EntityRef, tuple[str, str | None]]:
        """Stored JSON text and precomputed etag of ``refs``: the read API serves them undecoded."""
        out: dict[EntityRef, tuple[str, str | None]] = {}
        for chunk in _chunks(list(refs)):
            marks = ",".join("?" * len(chunk))
            for ref, body, etag in self._query(f"SELECT ref, body, etag FROM entities WHERE ref IN ({marks})", chunk):
                out[ref] = (decode_body(body), etag)
        return out

    def find_by_name(self, kind: str, namespace: str, name: str) -> tuple[EntityRef, str, str | None] | None:
        """(ref, JSON text, etag) of the entity with this kind, namespace and name, compared
        case-insensitively through the ``entities_name`` index; the lowest ref if several differ in case."""
        rows = self._query(
            "SELECT ref, body, etag FROM entities WHERE kind = ? AND namespace = ? AND lower(name) = ?",
            (kind.lower(), namespace.lower(), name.lower()),
        )
        if not rows:
            return None
        ref, body, etag = min(rows)
        return str(ref), decode_body(body), etag

    def load_collection_bodies(self, collections: Iterable[str]) -> dict[EntityRef, Entity]:
        out: dict[EntityRef, Entity] = {}
        for chunk in _chunks(list(collections)):
            marks = ",".join("?" * len(chunk))
            for ref, body in self._query(f"SELECT ref, body FROM entities WHERE collection IN ({marks})", chunk):
                out[ref] = load_body(body)
        return out

    def collection_sizes(self, collections: Iterable[str]) -> dict[str, int]:
        """How many entities each of ``collections`` holds (those holding none are left out)."""
        out: dict[str, int] = {}
        for chunk in _chunks(list(collections)):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT collection, COUNT(*) FROM entities WHERE collection IN ({marks}) GROUP BY collection"
            out.update({str(c): int(n) for c, n in self._query(query, chunk)})
        return out

    def collection_times(self) -> dict[str, str]:
        return {k: t for k, t in self._query("SELECT key, last_ok_at FROM collections") if t}

    def pending_removals(self) -> dict[EntityRef, int]:
        return {ref: int(n) for ref, n in self._query("SELECT ref, misses FROM pending_removals")}

    def commit(self, commit: Commit) -> None:
        with self._transaction() as cur:
            sql = self._sql
            keys = KeyIds(self._fetch_all(cur, "SELECT key, id FROM search_keys"))
            for chunk in _chunks(commit.removals):
                marks = ",".join("?" * len(chunk))
                stored = self._fetch_all(cur, f"SELECT id, body FROM entities WHERE ref IN ({marks})", chunk)
                self._delete_search_rows(cur, [r for i, b in stored for r in _stored_rows(keys, int(i), b)])
                cur.execute(sql(f"DELETE FROM entities WHERE ref IN ({marks})"), chunk)
                if stored:
                    cur.executemany(sql("DELETE FROM entity_refs WHERE id = ?"), [(int(i),) for i, _b in stored])
            # A first sync: nothing to replace or delete, and the search rows are loaded in bulk.
            bulk = not self._fetch_all(cur, "SELECT 1 FROM entities LIMIT 1")
            if bulk:
                cur.execute("DELETE FROM search")  # nothing, unless rows outlived their entities
                cur.execute("DELETE FROM entity_refs")
            high = self._entity_id_high(cur)
            if bulk:
                written, next_id = self._load_writes(
                    cur, commit.writes, keys, high + 1, commit.staged, in_ref_order=commit.in_ref_order
                )
            else:
                written, next_id = self._apply_writes(cur, commit.writes, keys, high + 1)
            if next_id - 1 > high:
                self._upsert_meta(cur, search_table.ENTITY_ID_KEY, str(next_id - 1))
            for key, at in commit.collections_ok.items():
                cur.execute(
                    sql(
                        "INSERT INTO collections (key, last_ok_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                        "SET last_ok_at = excluded.last_ok_at"
                    ),
                    (key, at),
                )
            now = commit.run.finished_at or utcnow()
            for key, error in commit.collections_failed.items():
                cur.execute(
                    sql(
                        "INSERT INTO collections (key, last_error, last_error_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                        "DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at"
                    ),
                    (key, error, now),
                )
            if commit.replace_pending:
                cur.execute("DELETE FROM pending_removals")
                cur.executemany(
                    sql("INSERT INTO pending_removals (ref, misses) VALUES (?, ?)"),
                    list(commit.pending_removals.items()),
                )
            if commit.consumed_approval:
                cur.execute(sql("DELETE FROM approvals WHERE run_id = ?"), (commit.consumed_approval,))
            for key, value in commit.meta.items():
                self._upsert_meta(cur, key, value)
            if commit.before_run_record is not None:
                commit.before_run_record()
            self._write_run(cur, commit.run)
            changelog.record(cur, self._sql, written, len(written) > changelog.COMMIT_ROW_LIMIT, commit.removals)
            self._upsert_meta(cur, "snapshot_run_id", commit.run.run_id)

    def _load_writes(
        self,
        cur: Any,
        writes: Iterable[EntityWrite],
        keys: KeyIds,
        next_id: int,
        staged: StagedRows | None = None,
        *,
        in_ref_order: bool = False,
    ) -> tuple[list[EntityRef], int]:
        """A first commit's writes into empty tables: nothing to look up or delete, the search
        rows loaded in bulk (and on SQLite the entity rows too, numbered in ref order at the end,
        unless the writes come in ref order already: see ``SqliteStore._bulk_entities``). With
        ``staged`` (SQLite: the rows made while fetching, ``staging``), an entity still as it was
        staged gets its staged rows and only its relation rows here. Returns the refs for the
        change log and the next free entity id."""
        table = self._bulk_load_begin(cur)
        entity_table = self._bulk_entities(cur, in_ref_order)
        renumbered = entity_table != "entities"
        if staged is not None and (not (renumbered or in_ref_order) or not staged.usable(keys)):
            staged = None  # ids in write order here, which is not ref order; or keys were added since it started
        if staged is not None:
            staged.adopt_keys(keys)
        first_id = next_id
        provisional = staged.next_id if staged is not None and renumbered else next_id  # renumbered at the end
        count = 0
        written: list[EntityRef] = []
        staged_ids: list[tuple[int, int]] = []  # (provisional id, id) of staged entities written in place
        last_ref: EntityRef | None = None
        for chunk in _chunks(writes):
            if len(written) <= changelog.COMMIT_ROW_LIMIT:  # beyond it the log records a reset, not refs
                written.extend(w.ref for w in chunk)
            rows: list[SearchRow] = []
            entities: list[tuple[Any, ...]] = []
            for w in chunk:
                if in_ref_order:
                    if last_ref is not None and not last_ref < w.ref:
                        raise ValueError(f"a commit said to be in ref order writes {w.ref!r} after {last_ref!r}")
                    last_ref = w.ref
                staged_id = staged.staged_id(w.ref, w.entity, w.plain) if staged is not None else None
                if renumbered:
                    entity_id = staged_id
                    if entity_id is None:
                        entity_id, provisional = provisional, provisional + 1
                else:  # its id for good: the next one, in write (= ref) order
                    entity_id = first_id + count
                    if staged_id is not None:
                        staged_ids.append((staged_id, entity_id))
                _add_rows(rows, keys, w.entity, entity_id, relations_only=staged_id is not None)
                entities.append(_entity_row(w, entity_id, self._encode_body))
                count += 1
            self._write_entity_rows(cur, entities, entity_table)
            if not renumbered:
                refs = [(row[0], row[1]) for row in entities]
                cur.executemany(self._sql("INSERT INTO entity_refs (id, ref) VALUES (?, ?)"), refs)
            self._insert_keys(cur, keys)
            self._insert_search_rows(cur, rows, table)
        self._bulk_load_end(cur, BulkLoad(first_id, renumbered, staged, count, staged_ids))
        return written, first_id + count

    def _apply_writes(
        self, cur: Any, writes: Iterable[EntityWrite], keys: KeyIds, next_id: int
    ) -> tuple[list[EntityRef], int]:
        """Writes over a stored snapshot: each rewritten entity's old search rows are deleted by
        recomputing them from its stored body (unless the body is unchanged), new entities get
        the next ids. Returns the refs for the change log and the next free entity id."""
        sql = self._sql
        written: list[EntityRef] = []
        for chunk in _chunks(writes):
            if len(written) <= changelog.COMMIT_ROW_LIMIT:  # beyond it the log records a reset, not refs
                written.extend(w.ref for w in chunk)
            refs = [w.ref for w in chunk]
            marks = ",".join("?" * len(refs))
            query = f"SELECT ref, id, body FROM entities WHERE ref IN ({marks})"
            previous = {ref: (int(i), body) for ref, i, body in self._fetch_all(cur, query, refs)}
            entities: list[tuple[Any, ...]] = []
            added: list[tuple[int, str]] = []
            old_rows: list[SearchRow] = []
            new_rows: list[SearchRow] = []
            for w in chunk:
                before = previous.get(w.ref)
                if before is None:
                    entity_id, next_id = next_id, next_id + 1
                    added.append((entity_id, w.ref))
                else:
                    entity_id, body = before
                    text = decode_body(body)
                    if text == w.body:  # only the row's bookkeeping changed (stale, origin)
                        entities.append(_entity_row(w, entity_id, self._encode_body))
                        continue
                    old_rows.extend(_rows_of(keys, json.loads(text), entity_id))
                entities.append(_entity_row(w, entity_id, self._encode_body))
                _add_rows(new_rows, keys, w.entity, entity_id)
            self._write_entity_rows(cur, entities)
            if added:
                cur.executemany(sql("INSERT INTO entity_refs (id, ref) VALUES (?, ?)"), added)
            self._delete_search_rows(cur, old_rows)
            self._insert_keys(cur, keys)
            self._insert_search_rows(cur, new_rows)
        return written, next_id

    def _entity_id_high(self, cur: Any) -> int:
        """The highest entity id ever given (ids of removed entities are not given again)."""
        stored = self._fetch_all(cur, "SELECT value FROM meta WHERE key = ?", (search_table.ENTITY_ID_KEY,))
        highest = self._fetch_all(cur, "SELECT MAX(id) FROM entities")[0][0]
        return max(int(stored[0][0]) if stored else 0, int(highest or 0))

    def _write_entity_rows(self, cur: Any, rows: list[tuple[Any, ...]], table: str = "entities") -> None:
        """Insert or update entity rows; into a staging table (each ref is written once per
        commit, and a staging table has no unique ref to conflict on) they are plain inserts."""
        columns = "(id, ref, kind, namespace, name, collection, family, hash, body, stale, source, etag)"
        statement = f"INSERT INTO {table} {columns} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        cur.executemany(self._sql(statement + self._entity_upsert(table)), rows)

    def _entity_upsert(self, table: str) -> str:
        """The ``ON CONFLICT`` clause of an entity row's insert (none into a staging table)."""
        if table != "entities":
            return ""
        return (
            " ON CONFLICT (ref) DO UPDATE SET "
            "kind = excluded.kind, namespace = excluded.namespace, name = excluded.name, "
            "collection = excluded.collection, "
            "family = excluded.family, hash = excluded.hash, body = excluded.body, stale = excluded.stale, "
            "source = excluded.source, etag = excluded.etag"
        )

    def _delete_search_rows(self, cur: Any, rows: list[SearchRow]) -> None:
        """Delete rows by primary key: the rows recomputed from the bodies they were made from."""
        if rows:
            cur.executemany(self._sql("DELETE FROM search WHERE key_id = ? AND value = ? AND entity_id = ?"), rows)

    def _insert_search_rows(self, cur: Any, rows: list[SearchRow], table: str = "search") -> None:
        """~36 rows per entity: the bulk of a commit (a backend with a faster bulk path overrides it)."""
        cur.executemany(self._sql(f"INSERT INTO {table} (key_id, value, entity_id) VALUES (?, ?, ?)"), rows)

    # --- runs ----------------------------------------------------------------------------------

    def _write_run(self, cur: Any, run: RunRecord) -> None:
        cur.execute(
            self._sql(
                "INSERT INTO runs (run_id, started_at, finished_at, status, trigger_name, summary) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status, "
                "summary = excluded.summary"
            ),
            (
                run.run_id,
                run.started_at,
                run.finished_at,
                run.status,
                run.trigger,
                json.dumps(redact_value(run.summary), default=str),  # errors may quote upstream bodies
            ),
        )

    def record_run(self, run: RunRecord) -> None:
        with self._transaction() as cur:
            self._write_run(cur, run)

    def _run_from_row(self, row: Any) -> RunRecord:
        return RunRecord(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._query(
            "SELECT run_id, started_at, finished_at, status, trigger_name, summary FROM runs "
            "ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [self._run_from_row(r) for r in rows]

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._query(
            "SELECT run_id, started_at, finished_at, status, trigger_name, summary FROM runs WHERE run_id = ?",
            (run_id,),
        )
        return self._run_from_row(rows[0]) if rows else None

    def approve(self, run_id: str) -> None:
        with self._transaction() as cur:
            cur.execute(
                self._sql("INSERT INTO approvals (run_id, approved_at) VALUES (?, ?) ON CONFLICT (run_id) DO NOTHING"),
                (run_id, utcnow()),
            )

    def approvals(self) -> set[str]:
        return {r[0] for r in self._query("SELECT run_id FROM approvals")}

    # --- outputs -------------------------------------------------------------------------------

    def output_state(self, name: str) -> tuple[str | None, bool]:
        rows = self._query("SELECT last_run_id, needs_full FROM outputs WHERE name = ?", (name,))
        if not rows:
            return None, True
        return rows[0][0], bool(rows[0][1])

    def set_output_state(self, name: str, run_id: str, needs_full: bool) -> None:
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO outputs (name, last_run_id, needs_full) VALUES (?, ?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET last_run_id = excluded.last_run_id, needs_full = excluded.needs_full"
                ),
                (name, run_id, int(needs_full)),
            )

    # --- read API ------------------------------------------------------------------------------

    def snapshot_version(self) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = 'snapshot_run_id'")
        return rows[0][0] if rows else None

    def meta_value(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def body_page(self, after: EntityRef, limit: int) -> list[tuple[EntityRef, Entity]]:
        """Up to ``limit`` entities with refs above ``after``, in ref order: keyset pages of the snapshot."""
        rows = self._query("SELECT ref, body FROM entities WHERE ref > ? ORDER BY ref LIMIT ?", (after, limit))
        return [(ref, load_body(body)) for ref, body in rows]

    def change_position(self) -> ChangePosition:
        return changelog.position(self._query)

    def changes_since(self, since: int, limit: int = 1000) -> ChangeBatch:
        return changelog.since(self._query, since, limit)

    def count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM entities")[0][0])

    def all_bodies(self) -> Iterable[tuple[EntityRef, Entity]]:
        return [(ref, load_body(body)) for ref, body in self._query("SELECT ref, body FROM entities")]

    def all_bodies_with_digest(self) -> tuple[list[tuple[EntityRef, Entity]], str]:
        """:meth:`all_bodies`, and the :meth:`content_digest` of those very rows (one statement)."""
        rows = self._query("SELECT ref, hash, body FROM entities")
        digest = _content_digest((ref, content) for ref, content, _ in rows)
        return [(ref, load_body(body)) for ref, _, body in rows], digest

    def _known_key_ids(self, keys: Iterable[str]) -> dict[str, int]:
        """Ids of those of ``keys`` that exist (cached per process, see ``_key_ids``)."""
        wanted = set(keys)
        missing = sorted(wanted - self._key_ids.keys())
        for chunk in _chunks(missing):
            marks = ",".join("?" * len(chunk))
            for key, key_id in self._query(f"SELECT key, id FROM search_keys WHERE key IN ({marks})", chunk):
                self._key_ids[str(key)] = int(key_id)
        return {key: self._key_ids[key] for key in wanted if key in self._key_ids}

    def _filter_sql(self, alternatives: list[list[tuple[str, list[str] | None]]]) -> tuple[str, list[Any]]:
        """SQL selecting the entity ids that match any alternative (each an AND of key conditions).

        A UNION of INTERSECTs of range scans of the search table's ``(key_id, value, entity_id)``
        order (SQLite: the table itself; PostgreSQL: its index): no entity row is visited to match.
        """
        known = self._known_key_ids(key for conditions in alternatives for key, _values in conditions)
        ors: list[str] = []
        params: list[Any] = []
        for conditions in alternatives:
            ands: list[str] = []
            for key, values in conditions:
                key_id = known.get(key)
                ands.append(f"SELECT entity_id FROM search WHERE key_id = {'?' if key_id is not None else _KEY_ID}")
                params.append(key_id if key_id is not None else key)
                if values is not None:
                    compared = filter_values(values)
                    ands[-1] += f" AND value IN ({','.join('?' * len(compared))})"
                    params.extend(compared)
            ors.append(" INTERSECT ".join(ands or ["SELECT id AS entity_id FROM entity_refs"]))
        parts = [f"SELECT entity_id FROM ({sql}) AS alternative_{n}" for n, sql in enumerate(ors)]
        return " UNION ".join(parts), params

    def _keys_condition(self, keys: list[str]) -> tuple[str, list[Any]]:
        """``s.key_id`` restricted to ``keys``: known ones by id, others looked up in the statement."""
        known = self._known_key_ids(keys)
        parts: list[str] = []
        params: list[Any] = []
        if known:
            parts.append(f"s.key_id IN ({','.join('?' * len(known))})")
            params.extend(sorted(known.values()))
        unknown = [key for key in keys if key not in known]
        if unknown:
            parts.append(f"s.key_id IN (SELECT id FROM search_keys WHERE key IN ({','.join('?' * len(unknown))}))")
            params.extend(unknown)
        return "(" + " OR ".join(parts) + ")", params

    def _key_names(self, key_ids: Iterable[int]) -> dict[int, str]:
        """Key id -> key for ids a query returned (all known, but for a key a commit just added)."""
        names = {key_id: key for key, key_id in self._key_ids.items()}
        missing = sorted(set(key_ids) - names.keys())
        for chunk in _chunks(missing):
            marks = ",".join("?" * len(chunk))
            for key, key_id in self._query(f"SELECT key, id FROM search_keys WHERE id IN ({marks})", chunk):
                self._key_ids[str(key)] = int(key_id)
                names[int(key_id)] = str(key)
        return names

    def match_refs(self, alternatives: list[list[tuple[str, list[str] | None]]]) -> list[EntityRef] | None:
        """Refs matching Backstage-style filters (OR of ANDs); None means no filter (everything)."""
        if not alternatives:
            return None
        statement, params = self._filter_sql(alternatives)
        joined = f"SELECT r.ref FROM ({statement}) AS matched JOIN entity_refs AS r ON r.id = matched.entity_id"
        return [r[0] for r in self._query(joined, params)]

    def search_values(
        self, keys: list[str], alternatives: list[list[tuple[str, list[str] | None]]] | None = None
    ) -> list[tuple[EntityRef, str, str | None]]:
        """The (ref, key, value) search rows of ``keys`` for the refs matching the filter (all if None).

        Lets the read API order, full-text filter and facet a matched set in one query, without
        loading entity bodies. Keys are compared lower-cased, like every search key.
        """
        if not keys:
            return []
        lowered = sorted({key.lower() for key in keys})
        condition, params = self._keys_condition(lowered)
        scope = ""
        if alternatives:
            sub, sub_params = self._filter_sql(alternatives)
            scope = f" AND s.entity_id IN ({sub})"
            params.extend(sub_params)
        rows = self._query(
            "SELECT e.ref, s.key_id, s.value FROM search AS s "
            f"JOIN entity_refs AS e ON e.id = s.entity_id WHERE {condition}{scope}",
            params,
        )
        names = self._key_names({r[1] for r in rows})
        return [(r[0], names[r[1]], served_value(r[2])) for r in rows]

    def facets(
        self, keys: list[str], alternatives: list[list[tuple[str, list[str] | None]]] | None = None
    ) -> dict[str, list[tuple[str, int]]]:
        out: dict[str, list[tuple[str, int]]] = {key: [] for key in keys}
        lowered = {key.lower(): key for key in keys}
        for key, value, count, _sample in self.facet_counts(keys, alternatives):  # one GROUP BY for both
            out[lowered[key]].append((value, count))
        return out

    def facet_counts(
        self, keys: list[str], alternatives: list[list[tuple[str, list[str] | None]]] | None = None
    ) -> list[tuple[str, str, int, EntityRef]]:
        """(key, lower-cased value, entities, one entity having it) per distinct value, grouped in SQL.

        Search rows are distinct per (entity, key, value), so a row count is an entity count.
        """
        if not keys:
            return []
        lowered = sorted({key.lower() for key in keys})
        condition, params = self._keys_condition(lowered)
        params.append(NO_VALUE)
        scope = ""
        if alternatives:
            sub, sub_params = self._filter_sql(alternatives)
            scope = f" AND s.entity_id IN ({sub})"
            params.extend(sub_params)
        rows = self._query(
            "SELECT s.key_id, s.value, COUNT(*), MIN(e.ref) FROM search AS s "
            f"JOIN entity_refs AS e ON e.id = s.entity_id WHERE {condition} AND s.value <> ?{scope} "
            "GROUP BY s.key_id, s.value",
            params,
        )
        names = self._key_names({int(r[0]) for r in rows})
        return [(names[int(k)], str(v), int(n), str(r)) for k, v, n, r in rows]

    def original_values(self, refs: list[EntityRef]) -> list[Entity]:
        return list(self.load_bodies(refs).values())

    # --- leadership ----------------------------------------------------------------------------

    def try_lead(self) -> bool:
        return True

    def health(self) -> str | None:
        return None

    def recover(self) -> bool:
        return True


def _entity_row(w: EntityWrite, entity_id: int, encode: Callable[[str], Any]) -> tuple[Any, ...]:
    """The ``entities`` row of a write (in ``_write_entity_rows``' column order)."""
    return (
        entity_id,
        w.ref,
        str(w.entity["kind"]).lower(),
        str(w.entity["metadata"].get("namespace") or "default").lower(),
        str(w.entity["metadata"]["name"]),
        w.collection,
        w.family,
        w.hash,
        encode(w.body),
        int(w.stale),
        w.source,
        served_etag(w.entity, w.body),
    )


def _add_rows(
    out: list[SearchRow], keys: KeyIds, entity: Entity, entity_id: int, *, relations_only: bool = False
) -> None:
    """Append an entity's search rows with key ids (numbering new keys): ~36 per entity, the
    innermost loop of a first commit, hence inlined. ``relations_only``: an entity whose other
    rows were staged (``staging``). The row function is looked up per call, not bound once."""
    ids = keys.ids
    for key, value in (relation_rows if relations_only else search_rows)(entity):
        key_id = ids.get(key)
        if key_id is None:
            key_id = keys.get(key)
        out.append((key_id, NO_VALUE if value is None else value, entity_id))


def _rows_of(keys: KeyIds, entity: Entity, entity_id: int) -> Iterator[SearchRow]:
    """An entity's stored search rows; keys not numbered yet are skipped (being deleted, a row
    whose key has no id was never stored)."""
    for key, value in search_rows(entity):
        if (key_id := keys.ids.get(key)) is not None:
            yield key_id, stored_value(value), entity_id


def _stored_rows(keys: KeyIds, entity_id: int, body: Any) -> Iterator[SearchRow]:
    """The search rows a stored body was committed with (recomputed: see ``search_table``)."""
    return _rows_of(keys, load_body(body), entity_id)


def _content_digest(rows: Iterable[tuple[Any, Any]]) -> str:
    """BLAKE2b of the (ref, content hash) pairs in ref order (orjson's JSON: unambiguous)."""
    pairs = sorted((str(ref), str(content)) for ref, content in rows)
    return hashlib.blake2b(orjson.dumps(pairs), digest_size=16).hexdigest()
