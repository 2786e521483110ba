"""State stores: where the last good snapshot, run records and pending removals live between runs."""

from __future__ import annotations

from pathlib import Path

from ..config import AppConfig
from ..errors import NoStoreError, StoreError
from .base import Commit, EntityWrite, IndexEntry, RunRecord, StateStore


def open_store(config: AppConfig) -> StateStore:
    """Open (and migrate) the store the configuration names."""
    oc = config.openchoreo
    store: StateStore
    if oc.store == "postgres":
        if oc.postgres.dsn is None:
            raise StoreError("openchoreo.store is postgres but openchoreo.postgres.dsn is not set")
        from .postgres import PostgresStore

        store = PostgresStore(oc.postgres.dsn.get_secret_value(), lease_seconds=oc.postgres.lease_seconds)
    else:
        from .sqlite import SqliteStore

        store = SqliteStore(oc.sqlite.path, oc.sqlite.busy_timeout)
    store.migrate()
    return store


def open_existing_store(config: AppConfig) -> StateStore:
    """Open the store for reading and approving, never creating one.

    ``status`` and ``approve-deletions`` pointed at the wrong file or database must say so, not
    report an empty catalog from a store they just created.
    """
    oc = config.openchoreo
    if oc.store == "postgres" and oc.postgres.dsn is not None:
        from .postgres import PostgresStore

        store = PostgresStore(oc.postgres.dsn.get_secret_value())
        try:
            found = store.has_state()
        except StoreError:
            store.close()
            raise
        if not found:
            store.close()
            raise NoStoreError(
                f"no state in the PostgreSQL database {store.where} (openchoreo.postgres.dsn): nothing was "
                "synced with this configuration yet; run 'openchoreo-sync once' or point --config at the "
                "daemon's configuration"
            )
        store.migrate()
        return store
    if oc.store == "sqlite" and not oc.sqlite.path.is_file():
        raise NoStoreError(
            f"no state store at {oc.sqlite.path} (openchoreo.sqlite.path, relative to {Path.cwd()}): nothing "
            "was synced with this configuration yet; run 'openchoreo-sync once' or point --config at the "
            "daemon's configuration (the demo prints its own)"
        )
    return open_store(config)


__all__ = ["Commit", "EntityWrite", "IndexEntry", "RunRecord", "StateStore", "open_existing_store", "open_store"]
