"""State stores: where the last good snapshot, run records and pending removals live between runs."""

from __future__ import annotations

from ..config import AppConfig
from ..errors import StoreError
from .base import Commit, EntityWrite, IndexEntry, RunRecord, StateStore


def open_store(config: AppConfig) -> StateStore:
    """Open (and migrate) the store the configuration names."""
    oc = config.openchoreo
    store: StateStore
    if oc.store == "postgres":
        if oc.postgres.dsn is None:
            raise StoreError("openchoreo.store is postgres but openchoreo.postgres.dsn is not set")
        from .postgres import PostgresStore

        store = PostgresStore(oc.postgres.dsn.get_secret_value())
    else:
        from .sqlite import SqliteStore

        store = SqliteStore(oc.sqlite.path, oc.sqlite.busy_timeout)
    store.migrate()
    return store


__all__ = ["Commit", "EntityWrite", "IndexEntry", "RunRecord", "StateStore", "open_store"]
