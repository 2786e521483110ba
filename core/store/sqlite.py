"""SQLite backend: the default, one file, WAL mode so readers never wait for a run's commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .sql import SqlStore


class SqliteStore(SqlStore):
    placeholder = "?"
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of the state store {path}: {exc.strerror}") from exc

    def _connect(self) -> Any:
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state store {self.path}: {exc}") from exc
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return _AutoBegin(conn)

    def _begin(self, cur: Any) -> None:
        cur.execute("BEGIN IMMEDIATE")


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
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()
