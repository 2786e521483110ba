"""PostgreSQL backend: one shared store for several replicas, with leader election by lease.

Several daemons (replicas) may point at the same database. All of them serve the read API from
it; exactly one of them, the holder of the lease row in ``leader_lease``, runs syncs. The leader
renews its lease every third of ``leaseSeconds`` from a thread of its own, on a dedicated
connection. Another replica's ``try_lead()`` (every ``frequency``) takes the lease over when it
expired (a frozen leader: SIGSTOP, a hung host, a network partition) or when the holder's backend
is gone (a dead leader: at once, as the session lock this replaced did). Each takeover increments
the lease's ``epoch``; a commit checks, in its own transaction and just before it commits, that
this process still holds the lease at the epoch it won (``FOR SHARE``, so a takeover waits for
that commit), so a leader that wakes up after being replaced cannot write: its commit fails.

Isolation: writes run in READ COMMITTED (one transaction per commit, so readers see all of a run
or none of it); reads run in REPEATABLE READ, so a read made of several statements (chunked
``load_bodies``, or a ``read_snapshot()`` block) sees one snapshot, never two halves of a commit.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict

from ..errors import StoreError
from ..logs import get_logger, redact_text, register_secret
from ..model import Entity, EntityRef
from .base import Commit, RunRecord
from .bodies import decode_body, load_body
from .sql import SqlStore

LEADER_LOCK_KEY = 0x6F63_7379
"""First half of the advisory lock keys ("ocsy"); the second half is ``hashtext`` of the store's
schema, so deployments (or tests) sharing one database in different schemas elect apart."""

MIGRATION_LOCK_KEY = LEADER_LOCK_KEY + 1
"""Serialises schema migrations of replicas that start at the same moment (same two-key form)."""

LEASE_TABLE = """CREATE TABLE IF NOT EXISTS leader_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, epoch BIGINT NOT NULL,
    pid INTEGER NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"""
"""Created outside the versioned migrations: only the PostgreSQL store elects a leader."""

_TAKE_LEASE = """
INSERT INTO leader_lease AS l (id, holder, epoch, pid, expires_at)
VALUES (1, %(me)s, 1, pg_backend_pid(), now() + %(lease)s * interval '1 second')
ON CONFLICT (id) DO UPDATE SET
    epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
    holder = excluded.holder, pid = excluded.pid, expires_at = excluded.expires_at
WHERE l.holder = excluded.holder
   OR l.expires_at < now()
   OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.pid)
RETURNING epoch"""
"""Renew our own lease, or take over one that expired or whose holder's backend is gone."""

_RENEW_LEASE = """UPDATE leader_lease SET expires_at = now() + %(lease)s * interval '1 second', pid = pg_backend_pid()
WHERE id = 1 AND holder = %(me)s AND epoch = %(epoch)s RETURNING epoch"""

_FENCE = "SELECT 1 FROM leader_lease WHERE id = 1 AND holder = %s AND epoch = %s FOR SHARE"

DEFAULT_LEASE_SECONDS = 15.0
LOCK_WAIT_MS = 2000
"""How long an election waits for the lease row (a commit holds it for its last moment)."""

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

    def __init__(self, dsn: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        super().__init__()
        self.lease_seconds = lease_seconds
        self._me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._epoch: int | None = None
        self.election_error: str | None = None
        """Why the last election could not be held (the database unreachable), or None."""
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()
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
        """Set once ``try_lead`` ran: from then on a commit is fenced on still holding the lease."""

    def __repr__(self) -> str:
        return f"PostgresStore({self.where})"

    def has_state(self) -> bool:
        """Whether the database (its search path) holds this daemon's tables, without creating any."""
        rows = self._query("SELECT to_regclass('meta') IS NOT NULL")
        return bool(rows and rows[0][0])

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

    def _write_run(self, cur: Any, run: RunRecord) -> None:
        """The last write of a commit: first make sure this process still leads at its epoch.

        ``FOR SHARE`` holds the lease row until the transaction ends, so a takeover waits for this
        commit, and a commit of a leader that was replaced while it ran (or while it was frozen)
        fails here and is rolled back.
        """
        fence = getattr(self._local, "fence", None)
        if fence is not None:
            cur.execute(_FENCE, (self._me, fence))
            if cur.fetchone() is None:
                raise StoreError(LOST_LEAD)
        super()._write_run(cur, run)

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

    def _batched_rows(self, statement: str) -> Iterator[Any]:
        try:
            yield from super()._batched_rows(statement)
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
        return {ref: (decode_body(body), etag) for ref, body, etag in rows}

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
            with self._transaction() as cur:
                cur.execute(LEASE_TABLE)
        finally:
            try:
                conn.execute(f"SELECT pg_advisory_unlock(%s, {_SCHEMA_KEY})", (MIGRATION_LOCK_KEY,))
                conn.commit()
            except psycopg.Error:  # a dead connection released the lock already
                self._drop_thread_connection()

    def _insert_search_rows(self, cur: Any, rows: list[tuple[int, str, int]], table: str = "search") -> None:
        """``COPY`` instead of ``INSERT``: a first 10k-component commit writes ~510k search rows."""
        with cur.copy(f"COPY {table} (key_id, value, entity_id) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    # --- commits are fenced on leadership ------------------------------------------------------

    def commit(self, commit: Commit) -> None:
        """Apply a run, but only while this process still leads (once it has taken part in elections).

        A leader that was frozen or cut off may still be finishing a run while another replica
        already leads; the fence inside the commit's transaction keeps the deposed one from
        writing over the new leader's snapshot.
        """
        if not self._elections:
            super().commit(commit)
            return
        with self._leader_lock:
            epoch = self._epoch if self._leading else None
        if epoch is None:
            raise StoreError(LOST_LEAD)
        self._local.fence = epoch
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
        """True while this process holds the lease; takes it when free or expired; False on any failure.

        Called by the daemon before every run. ``election_error`` says why when the database could
        not be asked (False then does not mean that another replica leads).
        """
        self._elections = True
        with self._leader_lock:
            try:
                if self._leader is None or self._leader.closed:
                    self._leader = self._open(autocommit=True, application_name=LEADER_APP, **_KEEPALIVE)
                    self._leader.execute(f"SET lock_timeout = {LOCK_WAIT_MS}")
                row = self._leader.execute(_TAKE_LEASE, {"me": self._me, "lease": self.lease_seconds}).fetchone()
            except psycopg.errors.LockNotAvailable:
                self.election_error = None  # another replica's commit holds the lease row: it leads
                self._leading = False
                return False
            except (StoreError, psycopg.Error) as exc:
                if self._leading:
                    log.warning("lost the leader lease: its connection failed", error=_text(exc))
                else:
                    log.warning("cannot take part in leader election", error=_text(exc))
                self.election_error = _text(exc)
                self._close_leader()
                return False
            self.election_error = None
            self._leading = row is not None
            self._epoch = int(row[0]) if row is not None else None
        if self._leading:
            self._start_renewing()
        return self._leading

    def _start_renewing(self) -> None:
        if self._renewer is not None and self._renewer.is_alive():
            return
        self._stop_renewing.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="leader-lease", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        """Renew the lease every third of its length, from a thread: a busy event loop must not lose it."""
        while not self._stop_renewing.wait(self.lease_seconds / 3):
            with self._leader_lock:
                if not self._leading or self._leader is None:
                    return
                try:
                    params = {"me": self._me, "lease": self.lease_seconds, "epoch": self._epoch}
                    renewed = self._leader.execute(_RENEW_LEASE, params).fetchone() is not None
                except psycopg.Error as exc:
                    log.warning("lost the leader lease: its connection failed", error=_text(exc))
                    self._close_leader()
                    return
                if not renewed:
                    log.warning("lost the leader lease: another replica took it over (this one was frozen or cut off)")
                    self._leading = False
                    self._epoch = None
                    return

    def _close_leader(self) -> None:
        self._leading = False
        self._epoch = None
        if self._leader is not None:
            with suppress(psycopg.Error):
                self._leader.close()
            self._leader = None

    def resign(self) -> None:
        """Give the lease up at shutdown, so another replica takes over at its next tick."""
        self._stop_renewing.set()
        with self._leader_lock:
            if self._leader is not None and self._leading and not self._leader.closed:
                with suppress(psycopg.Error):
                    self._leader.execute(
                        "UPDATE leader_lease SET expires_at = now() - interval '1 second' WHERE id = 1 AND holder = %s",
                        (self._me,),
                    )
            self._close_leader()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=5)

    def close(self) -> None:
        self.resign()
        super().close()


def _loads(body: str) -> Entity:
    value: Entity = load_body(body)
    return value


def _text(exc: BaseException) -> str:
    """An exception's message with every registered secret (the DSN, its password) masked."""
    return redact_text(str(exc).strip())
