"""The state store over SQL, shared by the SQLite and PostgreSQL backends.

Both speak the same schema and statements; a backend supplies connections, its placeholder style
and its leader election. Each thread gets its own connection, so the read API's threads never
block on (or see half of) a run's commit.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from ..logs import redact_value
from ..model import Entity, EntityRef
from ..search import search_rows
from . import changelog
from .base import Commit, IndexEntry, RunRecord
from .changelog import ChangeBatch, ChangePosition
from .served import served_etag

SCHEMA_VERSION = 3

SEARCH_INDEXES: dict[str, str] = {
    "search_key_value_ref": "CREATE INDEX IF NOT EXISTS search_key_value_ref ON search (key, value, ref)",
    "search_ref": "CREATE INDEX IF NOT EXISTS search_ref ON search (ref)",
}
"""The search table's indexes as the latest migration leaves them: a first commit into an empty
table builds them after its rows are in (one sort instead of ~30 index inserts per entity). On
PostgreSQL the dropped index locks the table until that commit: readers of the still-empty catalog
wait for the first snapshot instead of seeing none, which they could not use anyway.

``(key, value, ref)`` covers every read of the table: filters, sort values and facets are read
from the index alone, never from the table's rows (scattered: one entity's rows lie together)."""

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
        SEARCH_INDEXES["search_key_value_ref"],
    ],
}


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _chunks(items: Iterable[Any], size: int = 500) -> Iterator[list[Any]]:
    """Lists of at most ``size`` items; a generator is consumed lazily, one chunk at a time."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class SqlStore(ABC):
    """Common implementation; subclasses provide ``_connect`` and may override leader election."""

    placeholder = "?"
    dialect = "sqlite"

    def __init__(self) -> None:
        self._local = threading.local()
        self._all_connections: list[Any] = []
        self._lock = threading.Lock()

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
                for statement in MIGRATIONS[version]:
                    cur.execute(statement)
                if version == 3:
                    self._backfill_etags(cur)
                self._upsert_meta(cur, "schema_version", str(version))

    def _backfill_etags(self, cur: Any) -> None:
        """Step 3's data part: the served etag of every stored body, so an upgraded store serves
        its unchanged entities undecoded too (the engine rewrites only what changes). One pass, in
        the migration's transaction, a batch of rows at a time."""
        cur.execute("SELECT ref, body FROM entities")
        pending: list[tuple[str, str]] = []
        while rows := cur.fetchmany(2000):
            for ref, body in rows:
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

    def load_index(self) -> dict[EntityRef, IndexEntry]:
        """Every entity's hash and origin; read in batches, with the few distinct collection and
        family names shared, because at 50k components this runs over ~70k rows every sync."""
        conn = self._conn()
        cur = conn.cursor()
        index: dict[EntityRef, IndexEntry] = {}
        try:
            cur.execute("SELECT ref, hash, collection, family, stale, source FROM entities")
            while rows := cur.fetchmany(2000):
                for ref, digest, collection, family, stale, source in rows:
                    index[ref] = IndexEntry(digest, sys.intern(collection), sys.intern(family), bool(stale), source)
        finally:
            cur.close()
        self._end_read(conn)
        return index

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
                out[ref] = json.loads(body)
        return out

    def load_served(self, refs: Iterable[EntityRef]) -> dict[EntityRef, tuple[str, str | None]]:
        """Stored JSON text and precomputed etag of ``refs``: the read API serves them undecoded."""
        out: dict[EntityRef, tuple[str, str | None]] = {}
        for chunk in _chunks(list(refs)):
            marks = ",".join("?" * len(chunk))
            for ref, body, etag in self._query(f"SELECT ref, body, etag FROM entities WHERE ref IN ({marks})", chunk):
                out[ref] = (body, etag)
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
        return str(ref), str(body), etag

    def load_collection_bodies(self, collections: Iterable[str]) -> dict[EntityRef, Entity]:
        out: dict[EntityRef, Entity] = {}
        for chunk in _chunks(list(collections)):
            marks = ",".join("?" * len(chunk))
            for ref, body in self._query(f"SELECT ref, body FROM entities WHERE collection IN ({marks})", chunk):
                out[ref] = json.loads(body)
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
            for chunk in _chunks(commit.removals):
                marks = ",".join("?" * len(chunk))
                cur.execute(sql(f"DELETE FROM entities WHERE ref IN ({marks})"), chunk)
                cur.execute(sql(f"DELETE FROM search WHERE ref IN ({marks})"), chunk)
            cur.execute("SELECT 1 FROM search LIMIT 1")
            bulk = cur.fetchone() is None  # a first sync: nothing to replace, indexes built once at the end
            if bulk:
                for index in SEARCH_INDEXES:
                    cur.execute(f"DROP INDEX IF EXISTS {index}")
            written: list[EntityRef] = []
            for chunk in _chunks(commit.writes):
                if len(written) <= changelog.COMMIT_ROW_LIMIT:  # beyond it the log records a reset, not refs
                    written.extend(w.ref for w in chunk)
                if not bulk:  # each ref is written once per commit, so an empty table needs no delete
                    refs = [w.ref for w in chunk]
                    marks = ",".join("?" * len(refs))
                    cur.execute(sql(f"DELETE FROM search WHERE ref IN ({marks})"), refs)
                cur.executemany(
                    sql(
                        "INSERT INTO entities "
                        "(ref, kind, namespace, name, collection, family, hash, body, stale, source, etag) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET "
                        "kind = excluded.kind, namespace = excluded.namespace, name = excluded.name, "
                        "collection = excluded.collection, "
                        "family = excluded.family, hash = excluded.hash, body = excluded.body, stale = excluded.stale, "
                        "source = excluded.source, etag = excluded.etag"
                    ),
                    [
                        (
                            w.ref,
                            str(w.entity["kind"]).lower(),
                            str(w.entity["metadata"].get("namespace") or "default").lower(),
                            str(w.entity["metadata"]["name"]),
                            w.collection,
                            w.family,
                            w.hash,
                            w.body,
                            int(w.stale),
                            w.source,
                            served_etag(w.entity, w.body),
                        )
                        for w in chunk
                    ],
                )
                self._insert_search_rows(
                    cur, [(w.ref, key, value) for w in chunk for key, value in search_rows(w.entity)]
                )
            if bulk:
                for statement in SEARCH_INDEXES.values():
                    cur.execute(statement)
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

    def _insert_search_rows(self, cur: Any, rows: list[tuple[str, str, str | None]]) -> None:
        """~36 rows per entity: the bulk of a commit (a backend with a faster bulk path overrides it)."""
        cur.executemany(self._sql("INSERT INTO search (ref, key, value) VALUES (?, ?, ?)"), rows)

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
        return [(ref, json.loads(body)) for ref, body in rows]

    def change_position(self) -> ChangePosition:
        return changelog.position(self._query)

    def changes_since(self, since: int, limit: int = 1000) -> ChangeBatch:
        return changelog.since(self._query, since, limit)

    def count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM entities")[0][0])

    def all_bodies(self) -> Iterable[tuple[EntityRef, Entity]]:
        return [(ref, json.loads(body)) for ref, body in self._query("SELECT ref, body FROM entities")]

    def _filter_sql(self, alternatives: list[list[tuple[str, list[str] | None]]]) -> tuple[str, list[Any]]:
        """SQL selecting the refs that match any alternative (each an AND of key conditions).

        A UNION of INTERSECTs of index range scans (``search_key_value_ref``): every condition is
        read from the covering index alone, and no entity row is visited to match.
        """
        ors: list[str] = []
        params: list[Any] = []
        for conditions in alternatives:
            ands: list[str] = []
            for key, values in conditions:
                if values is None:
                    ands.append("SELECT ref FROM search WHERE key = ?")
                    params.append(key)
                else:
                    marks = ",".join("?" * len(values))
                    ands.append(f"SELECT ref FROM search WHERE key = ? AND value IN ({marks})")
                    params.extend([key, *values])
            ors.append(" INTERSECT ".join(ands or ["SELECT ref FROM entities"]))
        parts = [f"SELECT ref FROM ({sql}) AS alternative_{n}" for n, sql in enumerate(ors)]
        return " UNION ".join(parts), params

    def match_refs(self, alternatives: list[list[tuple[str, list[str] | None]]]) -> list[EntityRef] | None:
        """Refs matching Backstage-style filters (OR of ANDs); None means no filter (everything)."""
        if not alternatives:
            return None
        statement, params = self._filter_sql(alternatives)
        return [r[0] for r in self._query(statement, params)]

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
        params: list[Any] = list(lowered)
        scope = ""
        if alternatives:
            sub, sub_params = self._filter_sql(alternatives)
            scope = f" AND ref IN ({sub})"
            params.extend(sub_params)
        marks = ",".join("?" * len(lowered))
        rows = self._query(f"SELECT ref, key, value FROM search WHERE key IN ({marks}){scope}", params)
        return [(r[0], r[1], r[2]) for r in rows]

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

        Search rows are distinct per (ref, key, value), so a row count is an entity count.
        """
        if not keys:
            return []
        lowered = sorted({key.lower() for key in keys})
        marks = ",".join("?" * len(lowered))
        params: list[Any] = list(lowered)
        scope = ""
        if alternatives:
            sub, sub_params = self._filter_sql(alternatives)
            scope = f" AND ref IN ({sub})"
            params.extend(sub_params)
        rows = self._query(
            f"SELECT key, value, COUNT(*), MIN(ref) FROM search WHERE key IN ({marks}) "
            f"AND value IS NOT NULL{scope} GROUP BY key, value",
            params,
        )
        return [(str(k), str(v), int(n), str(r)) for k, v, n, r in rows]

    def original_values(self, refs: list[EntityRef]) -> list[Entity]:
        return list(self.load_bodies(refs).values())

    # --- leadership ----------------------------------------------------------------------------

    def try_lead(self) -> bool:
        return True

    def health(self) -> str | None:
        return None

    def recover(self) -> bool:
        return True
