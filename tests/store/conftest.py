"""Fixtures for the state-store suite: the same tests against SQLite and PostgreSQL.

Each PostgreSQL test gets a schema of its own (``options=-csearch_path=...`` in the DSN), dropped
afterwards; see ``tests/support/postgres.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from openchoreo_sync.store.postgres import PostgresStore
from openchoreo_sync.store.sql import SqlStore
from openchoreo_sync.store.sqlite import SqliteStore
from tests.support.postgres import pg_schema

StoreFactory = Callable[[], SqlStore]


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A DSN on a fresh, empty schema of the test database."""
    with pg_schema() as dsn:
        yield dsn


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens (and migrates) stores on ONE database: call it twice for a second replica/connection."""
    opened: list[SqlStore] = []
    with _location(request.param, tmp_path) as where:

        def make() -> SqlStore:
            postgres = request.param == "postgres"
            store: SqlStore = PostgresStore(where) if postgres else SqliteStore(Path(where))
            store.migrate()
            opened.append(store)
            return store

        try:
            yield make
        finally:
            for store in opened:
                store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> SqlStore:
    return store_factory()


@contextmanager
def _location(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "postgres":
        with pg_schema() as dsn:
            yield dsn
    else:
        yield str(tmp_path / "state.sqlite3")
