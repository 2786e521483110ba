"""PostgreSQL backend: one shared store for several replicas, with leader election.

Several daemons (replicas) may point at the same database. All of them serve the read API from
it; exactly one of them, the holder of a session-level advisory lock, runs syncs. The lock lives
on a dedicated connection for the life of the process, so when the leader dies (or its connection
does) PostgreSQL releases the lock at once and the next ``try_lead()`` of another replica - the
daemon calls it every ``frequency`` - takes over.

Isolation: writes run in READ COMMITTED (one transaction per commit, so readers see all of a run
or none of it); reads run in REPEATABLE READ, so a read made of several statements (chunked
``load_bodies``, or a ``read_snapshot()`` block) sees one snapshot, never two halves of a commit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict

from ..errors import StoreError
from ..logs import get_logger, redact_text, register_secret
from ..model import Entity, EntityRef
from .base import Commit, IndexEntry
from .sql import SqlStore

LEADER_LOCK_KEY = 0x6F63_7379
"""First half of the leader's advisory lock key ("ocsy"); the second half is ``hashtext`` of the
store's schema, so deployments (or tests) sharing one database in different schemas elect apart."""

MIGRATION_LOCK_KEY = LEADER_LOCK_KEY + 1
"""Serialises schema migrations of replicas that start at the same moment (same two-key form)."""

_SCHEMA_KEY = "hashtext(current_schema())"

LEADER_APP = "openchoreo-sync-leader"
"""``application_name`` of the lock connection, so an operator can find the leader in pg_stat_activity."""

CONNECT_TIMEOUT = 10
"""Seconds; bounds how long a dead server can block the daemon (``try_lead`` runs on its loop)."""

_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
"""A silently vanished peer is noticed within ~11 s instead of the kernel's two hours."""

LOST_LEAD = (
    "this replica does not hold the leader lock (it lost it, or another replica runs the syncs); "
    "the run was not committed"
)

log = get_logger("openchoreo_sync.store")


def describe_dsn(dsn: str) -> str:
    """``user@host:port/dbname`` of a DSN: enough to find the server, never the password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable DSN)"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    user = parts.get("user") or "(default user)"
    return f"{user}@{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


class PostgresStore(SqlStore):
    placeholder = "%s"
    dialect = "postgres"

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        register_secret(dsn)
        try:
            register_secret(str(conninfo_to_dict(dsn).get("password") or ""))
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"openchoreo.postgres.dsn is not a valid PostgreSQL DSN: {_text(exc)}") from None
        self.where = describe_dsn(dsn)
        self._leader: psycopg.Connection[Any] | None = None
        self._leader_lock = threading.Lock()
        self._leading = False
        self._elections = False
        """Set once ``try_lead`` ran: from then on a commit is fenced on still holding the lock."""

    def __repr__(self) -> str:
        return f"PostgresStore({self.where})"

    # --- connections ---------------------------------------------------------------------------

    def _open(self, **options: Any) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._dsn, connect_timeout=CONNECT_TIMEOUT, **options)
        except psycopg.Error as exc:
            # libpq messages name host and port, never the password; redact anyway (it may echo the DSN)
            raise StoreError(f"cannot connect to the PostgreSQL state store {self.where}: {_text(exc)}") from None

    def _connect(self) -> Any:
        conn = self._open()
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        return conn

    def _begin(self, cur: Any) -> None:
        # Reads default to REPEATABLE READ; a write takes row locks and must not fail with a
        # serialization error because a reader or the CLI touched the same row.
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        fence = getattr(self._local, "fence", None)
        if fence is not None:
            cur.execute(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::int4::oid "
                f"AND objid = {_SCHEMA_KEY}::oid AND objsubid = 2 AND pid = %s AND granted",
                (LEADER_LOCK_KEY, fence),
            )
            if cur.fetchone() is None:
                raise StoreError(LOST_LEAD)

    def _end_read(self, conn: Any) -> None:
        if getattr(self._local, "pinned", 0) == 0:
            conn.rollback()

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Run several reads of this thread against one snapshot (one REPEATABLE READ transaction)."""
        conn = self._conn()
        self._local.pinned = getattr(self._local, "pinned", 0) + 1
        try:
            yield
        finally:
            self._local.pinned -= 1
            if self._local.pinned == 0:
                conn.rollback()

    def _query(self, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            return super()._query(statement, params)
        except psycopg.OperationalError as exc:
            self._drop_thread_connection()
            raise self._failed(exc) from None

    def load_index(self) -> dict[EntityRef, IndexEntry]:
        try:
            return super().load_index()
        except psycopg.OperationalError as exc:
            self._drop_thread_connection()
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException) -> StoreError:
        return StoreError(f"the PostgreSQL state store {self.where} failed: {_text(exc)}")

    def _drop_thread_connection(self) -> None:
        """Forget a broken connection so this thread's next call reconnects instead of failing forever."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        self._local.pinned = 0
        with self._lock:
            if conn in self._all_connections:
                self._all_connections.remove(conn)
        with suppress(psycopg.Error):
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with super()._transaction() as cur:
                yield cur
        except psycopg.OperationalError as exc:
            self._drop_thread_connection()
            raise self._failed(exc) from None

    # --- reads that must be one statement ------------------------------------------------------

    def load_bodies(self, refs: Iterable[EntityRef]) -> dict[EntityRef, Entity]:
        """One statement with an array parameter instead of chunks: one snapshot, one round trip."""
        wanted = list(refs)
        if not wanted:
            return {}
        rows = self._query("SELECT ref, body FROM entities WHERE ref = ANY(%s)", (wanted,))
        return {ref: _loads(body) for ref, body in rows}

    def load_served(self, refs: Iterable[EntityRef]) -> dict[EntityRef, tuple[str, str | None]]:
        wanted = list(refs)
        if not wanted:
            return {}
        rows = self._query("SELECT ref, body, etag FROM entities WHERE ref = ANY(%s)", (wanted,))
        return {ref: (body, etag) for ref, body, etag in rows}

    def load_collection_bodies(self, collections: Iterable[str]) -> dict[EntityRef, Entity]:
        wanted = list(collections)
        if not wanted:
            return {}
        rows = self._query("SELECT ref, body FROM entities WHERE collection = ANY(%s)", (wanted,))
        return {ref: _loads(body) for ref, body in rows}

    # --- schema --------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Migrate under an advisory lock: two replicas starting together would race on CREATE TABLE."""
        conn = self._conn()
        try:
            conn.execute(f"SELECT pg_advisory_lock(%s, {_SCHEMA_KEY})", (MIGRATION_LOCK_KEY,))
            conn.commit()
        except psycopg.OperationalError as exc:
            self._drop_thread_connection()
            raise self._failed(exc) from None
        try:
            super().migrate()
        finally:
            try:
                conn.execute(f"SELECT pg_advisory_unlock(%s, {_SCHEMA_KEY})", (MIGRATION_LOCK_KEY,))
                conn.commit()
            except psycopg.Error:  # a dead connection released the lock already
                self._drop_thread_connection()

    def _insert_search_rows(self, cur: Any, rows: list[tuple[str, str, str | None]]) -> None:
        """``COPY`` instead of ``INSERT``: a first 10k-component commit writes ~510k search rows."""
        with cur.copy("COPY search (ref, key, value) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    # --- commits are fenced on leadership ------------------------------------------------------

    def commit(self, commit: Commit) -> None:
        """Apply a run, but only while this process still leads (once it has taken part in elections).

        A leader whose lock connection died may still be finishing a run while another replica
        already leads; the check inside the commit's transaction keeps the deposed one from
        writing over the new leader's snapshot. The check runs inside the commit's own transaction.
        """
        if not self._elections:
            super().commit(commit)
            return
        pid = self._leader_pid()
        if pid is None:
            raise StoreError(LOST_LEAD)
        self._local.fence = pid
        try:
            super().commit(commit)
        finally:
            self._local.fence = None

    # --- leadership ----------------------------------------------------------------------------

    def _leader_pid(self) -> int | None:
        with self._leader_lock:
            if self._leader is None or not self._leading or self._leader.closed:
                return None
            return int(self._leader.info.backend_pid)

    def try_lead(self) -> bool:
        """True while this process holds the leader lock; takes it when free; False on any failure.

        Called by the daemon before every run. A held lock is confirmed with a round trip on its
        connection: if that connection died, the server has released the lock and another replica
        may hold it now, so this call reports False and the next one tries again from scratch.
        """
        self._elections = True
        with self._leader_lock:
            if self._leader is not None and self._leading:
                try:
                    self._leader.execute("SELECT 1")
                    return True
                except psycopg.Error as exc:
                    log.warning("lost the leader lock: its connection failed", error=_text(exc))
                    self._close_leader()
                    return False
            try:
                if self._leader is None or self._leader.closed:
                    self._leader = self._open(autocommit=True, application_name=LEADER_APP, **_KEEPALIVE)
                statement = f"SELECT pg_try_advisory_lock(%s, {_SCHEMA_KEY})"
                row = self._leader.execute(statement, (LEADER_LOCK_KEY,)).fetchone()
            except (StoreError, psycopg.Error) as exc:
                log.warning("cannot take part in leader election", error=_text(exc))
                self._close_leader()
                return False
            self._leading = bool(row and row[0])
            return self._leading

    def _close_leader(self) -> None:
        self._leading = False
        if self._leader is not None:
            with suppress(psycopg.Error):
                self._leader.close()
            self._leader = None

    def resign(self) -> None:
        """Give the leader lock up at shutdown, explicitly, so it is free when this call returns.

        Closing the connection would release it too, but only once the server has processed the
        disconnect: a replica asking right after could still find it taken and wait a whole tick.
        """
        with self._leader_lock:
            if self._leader is not None and self._leading and not self._leader.closed:
                with suppress(psycopg.Error):
                    self._leader.execute(f"SELECT pg_advisory_unlock(%s, {_SCHEMA_KEY})", (LEADER_LOCK_KEY,))
            self._close_leader()

    def close(self) -> None:
        self.resign()
        super().close()


def _loads(body: str) -> Entity:
    value: Entity = json.loads(body)
    return value


def _text(exc: BaseException) -> str:
    """An exception's message with every registered secret (the DSN, its password) masked."""
    return redact_text(str(exc).strip())
