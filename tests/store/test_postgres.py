"""What only the PostgreSQL store does: leader election, fenced commits, locked migrations, secrets."""

from __future__ import annotations

import threading

import psycopg
import pytest

from openchoreo_sync.errors import StoreError
from openchoreo_sync.logs import redact_text
from openchoreo_sync.store.base import Commit, RunRecord
from openchoreo_sync.store.postgres import LEADER_APP, PostgresStore
from openchoreo_sync.store.sql import SCHEMA_VERSION
from tests.support.postgres import admin_dsn, pg_schema

pytestmark = pytest.mark.postgres


def opened(dsn: str) -> PostgresStore:
    store = PostgresStore(dsn)
    store.migrate()
    return store


def terminate_leader_connection(store: PostgresStore) -> None:
    """Kill the backend of ``store``'s lock connection, as a server restart or network cut would."""
    pid = store._leader_pid()
    assert pid is not None, "the store does not hold a leader connection"
    with psycopg.connect(admin_dsn(), autocommit=True) as admin:
        # the timeout form waits (bounded, 10 s) until the backend is gone and its locks released
        assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone() == (True,)


def run_commit(run_id: str) -> Commit:
    return Commit(run=RunRecord(run_id, "2024-01-01T00:00:00Z", status="ok"))


def test_exactly_one_leader_and_hand_over_on_close(pg_dsn: str) -> None:
    first, second = opened(pg_dsn), opened(pg_dsn)
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        assert first.try_lead() is True, "the leader must keep leading on later ticks"
        assert second.try_lead() is False
        first.close()  # the process exits: its lock connection goes away
        assert second.try_lead() is True
    finally:
        first.close()
        second.close()


def test_a_closed_leader_rejoins_as_follower(pg_dsn: str) -> None:
    first, second = opened(pg_dsn), opened(pg_dsn)
    try:
        assert first.try_lead()
        first.close()
        assert second.try_lead()
        assert first.try_lead() is False
    finally:
        first.close()
        second.close()


def test_leadership_is_lost_with_its_connection_and_taken_over(pg_dsn: str) -> None:
    first, second = opened(pg_dsn), opened(pg_dsn)
    try:
        assert first.try_lead()
        assert not second.try_lead()
        terminate_leader_connection(first)
        assert second.try_lead(), "the lock must be free once the leader's connection died"
        assert first.try_lead() is False, "a leader whose connection died must report the loss"
        assert first.try_lead() is False, "and must not take the lock back while another holds it"
        second.close()
        assert first.try_lead() is True, "after the other leader leaves, the first can lead again"
    finally:
        first.close()
        second.close()


def test_a_deposed_leader_cannot_commit(pg_dsn: str) -> None:
    first, second = opened(pg_dsn), opened(pg_dsn)
    try:
        assert first.try_lead()
        first.commit(run_commit("while-leading"))
        terminate_leader_connection(first)
        assert second.try_lead()
        with pytest.raises(StoreError, match="does not hold the leader lock"):
            first.commit(run_commit("after-losing"))
        second.commit(run_commit("new-leader"))
        assert second.snapshot_version() == "new-leader"
        assert second.get_run("after-losing") is None
    finally:
        first.close()
        second.close()


def test_stores_without_elections_commit_freely(pg_dsn: str) -> None:
    """The CLI (``once``, ``approve-deletions``) and tests never call try_lead; they are not fenced."""
    store = opened(pg_dsn)
    try:
        store.commit(run_commit("r1"))
        assert store.snapshot_version() == "r1"
    finally:
        store.close()


def test_elections_in_different_schemas_are_independent() -> None:
    with pg_schema() as one, pg_schema() as two:
        a, b = opened(one), opened(two)
        try:
            assert a.try_lead() and b.try_lead()
        finally:
            a.close()
            b.close()


def test_leader_connection_is_visible_to_operators(pg_dsn: str) -> None:
    store = opened(pg_dsn)
    try:
        assert store.try_lead()
        pid = store._leader_pid()
        with psycopg.connect(admin_dsn(), autocommit=True) as admin:
            query = "SELECT application_name FROM pg_stat_activity WHERE pid = %s"
            row = admin.execute(query, (pid,)).fetchone()
        assert row == (LEADER_APP,)
    finally:
        store.close()


def test_replicas_starting_together_migrate_once(pg_dsn: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)
    stores = [PostgresStore(pg_dsn) for _ in range(6)]

    def start(store: PostgresStore) -> None:
        try:
            barrier.wait(timeout=10)
            store.migrate()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors
        rows = stores[0]._query("SELECT value FROM meta WHERE key = 'schema_version'")
        assert rows == [(str(SCHEMA_VERSION),)]
    finally:
        for s in stores:
            s.close()


def test_read_snapshot_pins_one_snapshot_across_statements(pg_dsn: str) -> None:
    reader, writer = opened(pg_dsn), opened(pg_dsn)
    try:
        writer.commit(run_commit("r1"))
        with reader.read_snapshot():
            assert reader.snapshot_version() == "r1"
            writer.commit(run_commit("r2"))
            assert reader.snapshot_version() == "r1", "a pinned read must not see a later commit"
        assert reader.snapshot_version() == "r2"
    finally:
        reader.close()
        writer.close()


def test_a_broken_connection_is_replaced_on_the_next_call(pg_dsn: str) -> None:
    store = opened(pg_dsn)
    try:
        store.commit(run_commit("r1"))
        pid = store._conn().info.backend_pid
        with psycopg.connect(admin_dsn(), autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone() == (True,)
        with pytest.raises(StoreError, match="failed"):
            store.snapshot_version()
        assert store.snapshot_version() == "r1"
    finally:
        store.close()


def test_the_password_never_reaches_an_error() -> None:
    secret = "s3cr3t-pa55word"
    store = PostgresStore(f"host=127.0.0.1 port=1 dbname=test user=postgres password={secret}")
    with pytest.raises(StoreError) as caught:
        store.migrate()
    message = str(caught.value)
    assert secret not in message
    assert "postgres@127.0.0.1:1/test" in message, message
    assert secret not in repr(store)
    assert redact_text(f"dsn password={secret}") == "dsn password=***"
    assert store.try_lead() is False
