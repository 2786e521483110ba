"""SQLite backend: the default, one file, WAL mode so readers never wait for a run's commit.

Every ``sqlite3`` error leaves this module as a ``StoreError`` naming the file and the likely fix
(a full disk, a write lock held by another process, an I/O error), so a failing store fails that
run and never the daemon. When the file can be read but not written (a full disk at start-up, a
read-only volume), the store opens read-only: the last committed snapshot is served, every write
raises ``StoreError``, and :meth:`SqliteStore.recover` switches back once writing works again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..logs import get_logger
from .base import Commit
from .bodies import decode_body, encode_body
from .multirow import insert_values
from .search_table import ENTITY_COLUMNS, ID_MAP_TABLE, ref_order_id_map
from .sql import SCHEMA_VERSION, BulkLoad, SqlStore
from .staging import FirstCommitStage, StagedRows

log = get_logger("openchoreo_sync.store")

DEFAULT_BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write lock (an operator's ``sqlite3`` shell, a backup)."""


def _hint(exc: BaseException) -> str:
    text = str(exc).lower()
    if "full" in text:
        return "free space on the volume holding it; the next run retries by itself"
    if "locked" in text or "busy" in text:
        return (
            "another process holds its write lock (an sqlite3 shell, a backup tool?); "
            "close it and the next run retries by itself"
        )
    if "readonly" in text or "read-only" in text:
        return "make the file and its directory writable; the last snapshot is served meanwhile"
    if "i/o" in text or "disk" in text:
        return "check the volume holding it (full, unmounted, failing?); the next run retries by itself"
    return "the next run retries by itself"


class SqliteStore(SqlStore):
    placeholder = "?"
    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        super().__init__()
        self.path = path
        self.busy_timeout = busy_timeout
        self.read_only_reason: str | None = None
        """Why the store is open read-only (None: writable)."""
        self._generation = 0
        """Bumped when the store switches mode: each thread then reopens its connection."""
        self._mode_lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of the state store {path}: {exc.strerror}") from exc

    def __repr__(self) -> str:
        return f"SqliteStore({self.path})"

    # --- errors --------------------------------------------------------------------------------

    def _failed(self, exc: BaseException, doing: str = "failed") -> StoreError:
        return StoreError(f"the SQLite state store {self.path} {doing}: {exc}; {_hint(exc)}")

    # --- connections ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            if self.read_only_reason is not None:
                conn = self._connect_read_only()
            else:
                conn = sqlite3.connect(
                    self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=True
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                # Schema step 4 compresses the bodies it copies (search_table.STEP_4).
                conn.create_function("compressed_body", 1, _compressed_body, deterministic=True)
        except sqlite3.Error as exc:
            raise self._failed(exc, "cannot be opened") from None
        return _AutoBegin(conn)

    def _connect_read_only(self) -> sqlite3.Connection:
        """``mode=ro`` while another process keeps the WAL files alive; else ``immutable``.

        A WAL database needs its ``-shm`` file created (written) even to be read, which a full disk
        refuses ("disk I/O error"); ``immutable`` reads the main file alone. This process writes
        nothing while read-only, and :meth:`recover` reopens normally once writing works.
        """
        shared = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=True)
        try:
            shared.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
            return shared
        except sqlite3.Error:
            shared.close()
        uri = f"file:{self.path}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=True)

    def _conn(self) -> Any:
        if getattr(self._local, "generation", self._generation) != self._generation:
            conn = getattr(self._local, "conn", None)
            self._local.conn = None
            if conn is not None:
                with self._lock:
                    if conn in self._all_connections:
                        self._all_connections.remove(conn)
                with suppress(sqlite3.Error):
                    conn.close()
        self._local.generation = self._generation
        return super()._conn()

    def _begin(self, cur: Any) -> None:
        if self.read_only_reason is not None:
            raise StoreError(f"the SQLite state store {self.path} is read-only: {self.read_only_reason}")
        cur.execute("BEGIN IMMEDIATE")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with super()._transaction() as cur:
                yield cur
        except sqlite3.Error as exc:
            raise self._failed(exc, "could not be written") from None

    def _query(self, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            return super()._query(statement, params)
        except sqlite3.Error as exc:
            raise self._failed(exc, "could not be read") from None

    def _batched_rows(self, statement: str) -> Iterator[Any]:
        try:
            yield from super()._batched_rows(statement)
        except sqlite3.Error as exc:
            raise self._failed(exc, "could not be read") from None

    # --- compact storage (schema step 4) -------------------------------------------------------

    def _encode_body(self, text: str) -> Any:
        return encode_body(text)

    def _insert_search_rows(self, cur: Any, rows: list[tuple[int, str, int]], table: str = "search") -> None:
        insert_values(cur, f"INSERT INTO {table} (key_id, value, entity_id) VALUES ", 3, rows)

    def _write_entity_rows(self, cur: Any, rows: list[tuple[Any, ...]], table: str = "entities") -> None:
        insert_values(cur, f"INSERT INTO {table} (id, {ENTITY_COLUMNS}) VALUES ", 12, rows, self._entity_upsert(table))

    def _bulk_load_begin(self, cur: Any) -> str:
        """A first commit's search rows go to a temporary heap table first, then into the
        clustered search table in its key order, one sorted pass: appending in order fills each
        B-tree page once, where ~36 inserts per entity scattered over the key order would not."""
        # Staged rows are dropped at the end: no need to zero their pages on the way out (some
        # builds of SQLite, Debian's among them, turn ``secure_delete`` on by default).
        cur.execute("PRAGMA temp.secure_delete = OFF")
        cur.execute("DROP TABLE IF EXISTS temp.search_load")
        cur.execute("CREATE TEMP TABLE search_load (key_id INTEGER, value TEXT, entity_id INTEGER)")
        return "temp.search_load"

    def _bulk_entities(self, cur: Any, in_ref_order: bool = False) -> str:
        """A first commit's entities are numbered in ref order: a range of search rows then lists
        its entities in ref order, which is the order the read API sorts matches into (a sorted
        list sorts ~20x faster than a shuffled one) and the order a facet's lowest ref is found
        in. Writes in ref order (the engine's) get those ids as they are written, in place; any
        other order has its entity rows staged, and numbered when they are copied over."""
        if in_ref_order:
            return "entities"
        cur.execute("DROP TABLE IF EXISTS temp.entities_load")
        cur.execute("CREATE TEMP TABLE entities_load AS SELECT * FROM main.entities WHERE 0")
        return "temp.entities_load"

    def first_commit_stage(self) -> FirstCommitStage | None:
        """A stage for a first sync's search rows when no entity is stored yet (``staging``)."""
        if self.read_only_reason is not None or self._query("SELECT 1 FROM entities LIMIT 1"):
            return None
        keys = {str(key): int(key_id) for key, key_id in self._query("SELECT key, id FROM search_keys")}
        conn = self._conn()
        cur = conn.cursor()
        try:
            first_id = self._entity_id_high(cur) + 1
        finally:
            cur.close()
        self._end_read(conn)
        try:
            return FirstCommitStage(keys, first_id, self.path.parent)
        except OSError as exc:  # the stage only saves time: without it the commit does all the work
            log.warning(
                "no scratch directory for the first commit's stage; the commit does all its work",
                directory=str(self.path.parent),
                error=exc.strerror or str(exc),
            )
            return None

    def commit(self, commit: Commit) -> None:
        """With a first commit's stage, its file is attached (as ``stage``) around the transaction:
        read only, by the search rows' copy (``_bulk_load_end``)."""
        if commit.staged is None:
            super().commit(commit)
            return
        cur = self._conn().cursor()
        try:
            cur.execute("ATTACH DATABASE ? AS stage", (str(commit.staged.path),))
        except sqlite3.Error as exc:
            log.debug("first-commit stage not attached; the commit does all its work", error=str(exc))
            super().commit(replace(commit, staged=None))
            return
        try:
            super().commit(commit)
        finally:
            for name in ("presorted", "stage"):  # presorted: attached by _bulk_load_end, if at all
                with suppress(sqlite3.Error):
                    cur.execute(f"DETACH DATABASE {name}")
            cur.close()

    def _bulk_load_end(self, cur: Any, load: BulkLoad | None = None) -> None:
        load = load or BulkLoad()  # a migration's rebuild: the rows in temp.search_load alone
        staged, renumbered = load.staged, load.renumbered
        if renumbered:
            cur.execute("DROP TABLE IF EXISTS temp.id_map")
            cur.execute(ID_MAP_TABLE)
            cur.execute(ref_order_id_map("temp.entities_load"), (load.first_id,))
            cur.execute(
                f"INSERT INTO entities (id, {ENTITY_COLUMNS}) SELECT m.new, {_prefixed('e', ENTITY_COLUMNS)} "
                "FROM temp.entities_load AS e JOIN temp.id_map AS m ON m.old = e.id ORDER BY m.new"
            )
            cur.execute("INSERT INTO entity_refs (id, ref) SELECT new, ref FROM temp.id_map ORDER BY new")
        rows = "temp.search_load"
        if staged is not None and self._attach_presorted(cur, staged, load.first_id, load.written):
            # Into the empty table as they are (SQLite's transfer of a table into one of the same
            # definition, no record decoded): every written entity was staged and has the id the
            # worker gave it. What is left to sort is the relation rows in temp.search_load.
            cur.execute("INSERT INTO search SELECT * FROM presorted.search")
        elif staged is not None:
            # The staged rows under their provisional ids; those of entities not written have no
            # id to map to and are left out.
            if not renumbered:  # written in place: the staged entities' ids, as they were given
                cur.execute("DROP TABLE IF EXISTS temp.staged_ids")
                cur.execute("CREATE TEMP TABLE staged_ids (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
                cur.executemany("INSERT INTO temp.staged_ids (old, new) VALUES (?, ?)", load.staged_ids)
                rows = (
                    "(SELECT s.key_id, s.value, m.new AS entity_id FROM stage.rows AS s "
                    "JOIN temp.staged_ids AS m ON m.old = s.entity_id UNION ALL SELECT * FROM temp.search_load)"
                )
            else:  # renumbered below, with the rest
                rows = "(SELECT * FROM stage.rows UNION ALL SELECT * FROM temp.search_load)"
        if renumbered:
            cur.execute(
                "INSERT INTO search (key_id, value, entity_id) SELECT s.key_id, s.value, m.new "
                f"FROM {rows} AS s JOIN temp.id_map AS m ON m.old = s.entity_id ORDER BY 1, 2, 3"
            )
            cur.execute("DROP TABLE temp.id_map")
            cur.execute("DROP TABLE temp.entities_load")
        else:
            cur.execute(
                "INSERT INTO search (key_id, value, entity_id) "
                f"SELECT key_id, value, entity_id FROM {rows} ORDER BY key_id, value, entity_id"
            )
        cur.execute("DROP TABLE IF EXISTS temp.staged_ids")
        cur.execute("DROP TABLE temp.search_load")

    def _attach_presorted(self, cur: Any, staged: StagedRows, first_id: int, written: int) -> bool:
        """Attach the worker's presorted copy (as ``presorted``) when it holds this commit's
        staged rows as the commit would number them (``StagedRows.presorted``)."""
        path = staged.presorted(first_id, written)
        if path is None:
            return False
        try:
            cur.execute("ATTACH DATABASE ? AS presorted", (str(path),))
        except sqlite3.Error as exc:
            log.debug("presorted search rows not attached; the commit sorts them", error=str(exc))
            return False
        return True

    # --- schema and modes ----------------------------------------------------------------------

    def migrate(self) -> None:
        """Migrate; when that cannot write but the stored snapshot can be read, open read-only.

        An up-to-date store is not written at all, so a start on a full disk (or while another
        process holds the write lock) needs no write.
        """
        try:
            if self.path.exists() and self._schema_current():
                return
            before = self._schema_version() if self.path.exists() else 0
            super().migrate()
            if 0 < before < 4:
                self._vacuum()
            return
        except StoreError as exc:
            failure = exc
        if not self.path.exists():
            raise failure
        with self._mode_lock:
            self.read_only_reason = str(failure)
            self._generation += 1
        try:
            self._check_schema_readable()
        except (StoreError, sqlite3.Error) as exc:
            with self._mode_lock:
                self.read_only_reason = None
                self._generation += 1
            raise StoreError(f"{failure}; reading it read-only failed too: {exc}") from None

    def _vacuum(self) -> None:
        """Give the pages step 4 freed back (at 10k components, 159 MB of step-3 tables became
        ~33 MB): a one-time rewrite of the file when an older store is upgraded. Best effort: it
        needs free space for a copy of the (new, small) file, and a store that was not vacuumed
        reuses its free pages anyway."""
        conn = self._conn()
        try:
            conn.cursor().execute("VACUUM")
        except sqlite3.Error as exc:
            log.warning("could not compact the state store after its upgrade", path=str(self.path), error=str(exc))

    def _schema_version(self) -> int:
        try:
            rows = self._query("SELECT value FROM meta WHERE key = 'schema_version'")
        except StoreError as exc:
            if "no such table" in str(exc):
                return 0
            raise
        return int(rows[0][0]) if rows else 0

    def _schema_current(self) -> bool:
        return self._schema_version() == SCHEMA_VERSION

    def _check_schema_readable(self) -> None:
        version = self._schema_version()
        if version != SCHEMA_VERSION:
            raise StoreError(f"schema version {version} needs a migration to {SCHEMA_VERSION}, which needs writing")

    def health(self) -> str | None:
        return None if self.read_only_reason is None else f"read-only: {self.read_only_reason}"

    def recover(self) -> bool:
        """Leave read-only mode once the file can be written again; True when writable."""
        if self.read_only_reason is None:
            return True
        probe = SqliteStore(self.path, self.busy_timeout)
        try:
            probe.migrate()
            writable = probe.read_only_reason is None
        except StoreError:
            writable = False
        finally:
            probe.close()
        if writable:
            with self._mode_lock:
                self.read_only_reason = None
                self._generation += 1
        return writable


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))


def _compressed_body(stored: Any) -> bytes:
    return encode_body(decode_body(stored))


class _AutoBegin:
    """A sqlite3 connection in autocommit mode whose reads run inside explicit transactions.

    With ``isolation_level=None`` Python never opens transactions implicitly; we open one for
    writes (BEGIN IMMEDIATE) and wrap multi-statement reads ourselves, so a reader sees one commit.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def cursor(self) -> sqlite3.Cursor:
        return self._conn.cursor()

    def commit(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):  # a failed write may have rolled back already (SQLITE_FULL)
                self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()
