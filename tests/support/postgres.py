"""PostgreSQL helpers for tests: the test server's admin DSN and throwaway schemas.

The server is 127.0.0.1:5432, database ``test`` (``tests/support/postgres.sh`` starts it; CI runs
that first). An unreachable server FAILS the calling test with a message saying how to start it:
CI guarantees the server, so a skip would only hide a broken store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_HOST = os.environ.get("PGTEST_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGTEST_PORT", "5432"))
PG_DB = os.environ.get("PGTEST_DB", "test")
PG_USERS = ("postgres", "root")


def admin_dsn() -> str:
    """A DSN that can create schemas in the test database; fails the test when there is none."""
    errors: list[str] = []
    for user in PG_USERS:
        dsn = f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user={user} connect_timeout=5"
        try:
            with psycopg.connect(dsn) as conn:
                conn.execute("SELECT 1")
            return dsn
        except psycopg.Error as exc:
            errors.append(f"user {user}: {str(exc).strip()}")
    pytest.fail(
        f"PostgreSQL is required for @pytest.mark.postgres tests but {PG_HOST}:{PG_PORT}/{PG_DB} "
        f"is not usable ({'; '.join(errors)}). Start it with tests/support/postgres.sh.",
        pytrace=False,
    )


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh schema in the test database; yields a DSN whose search_path is that schema."""
    base = admin_dsn()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base} options=-csearch_path={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
