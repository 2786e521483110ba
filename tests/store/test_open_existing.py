"""``status`` and ``approve-deletions`` never create a store (issue 18), on either backend."""

from __future__ import annotations

import psycopg
import pytest

from openchoreo_sync.config import AppConfig, validate_config
from openchoreo_sync.config_loader import load_raw_config
from openchoreo_sync.errors import NoStoreError
from openchoreo_sync.store import open_existing_store, open_store


def config_for(store: dict) -> AppConfig:
    raw = load_raw_config([], env={}, inline=[("test", {"openchoreo": store})])
    return validate_config(raw, needs_api=False)


def test_sqlite_store_is_never_created(tmp_path):
    path = tmp_path / "nested" / "state.sqlite3"
    config = config_for({"sqlite": {"path": str(path)}})
    with pytest.raises(NoStoreError, match="no state store at"):
        open_existing_store(config)
    assert not path.exists() and not path.parent.exists()
    open_store(config).close()
    open_existing_store(config).close()


@pytest.mark.postgres
def test_postgres_tables_are_never_created(pg_dsn):
    config = config_for({"store": "postgres", "postgres": {"dsn": pg_dsn}})
    with pytest.raises(NoStoreError, match="no state in the PostgreSQL database"):
        open_existing_store(config)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT to_regclass('meta')").fetchone() == (None,)
    open_store(config).close()
    store = open_existing_store(config)
    try:
        assert store.count() == 0
    finally:
        store.close()
