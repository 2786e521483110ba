"""The change log, on SQLite and PostgreSQL: one sequence per commit, written in that commit.

A consumer that remembers a sequence must get exactly what changed after it, or be told to read
the whole snapshot when the window no longer reaches back that far.
"""

from __future__ import annotations

import pytest

from openchoreo_sync.store import changelog
from openchoreo_sync.store.base import Commit, RunRecord
from openchoreo_sync.store.sql import MIGRATIONS, SqlStore
from tests.store.conftest import StoreFactory
from tests.store.old_layout import rewind
from tests.store.test_store_suite import commit_of, component, run, write


def test_each_commit_that_changes_something_gets_the_next_sequence(store: SqlStore) -> None:
    assert store.change_position() == changelog.ChangePosition(0, 0)
    store.commit(commit_of("r1", component("a"), component("b")))
    store.commit(commit_of("r2"))  # a run that changed nothing is not in the feed
    store.commit(Commit(run=run("r3"), writes=[write(component("a", owner="x"))], removals=["component:default/b"]))
    assert store.change_position() == changelog.ChangePosition(2, 0)

    first = store.changes_since(0)
    assert (first.resync, first.until, first.more) == (False, 2, False)
    assert first.ops == {"component:default/a": "upsert", "component:default/b": "delete"}
    assert store.changes_since(1).ops == {"component:default/a": "upsert", "component:default/b": "delete"}
    up_to_date = store.changes_since(2)
    assert (up_to_date.resync, up_to_date.until, up_to_date.ops) == (False, 2, {})


def test_a_batch_holds_whole_commits_up_to_the_limit(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a"), component("b")))
    store.commit(commit_of("r2", component("c")))
    store.commit(commit_of("r3", component("d")))
    batch = store.changes_since(0, limit=3)
    assert (batch.until, batch.more, set(batch.ops)) == (2, True, {f"component:default/{n}" for n in "abc"})
    one = store.changes_since(0, limit=1)  # never less than one commit, even above the limit
    assert (one.until, one.more, len(one.ops)) == (1, True, 2)
    assert store.changes_since(2, limit=3).ops == {"component:default/d": "upsert"}


def test_a_sequence_outside_the_window_asks_for_a_full_read(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changelog, "CHANGE_WINDOW", 2)
    for i in range(4):
        store.commit(commit_of(f"r{i}", component(f"c{i}")))
    position = store.change_position()
    assert position.head == 4
    assert position.floor == 2  # rows of commits 1 and 2 pruned
    assert store.changes_since(1).resync
    assert store.changes_since(2).ops == {"component:default/c2": "upsert", "component:default/c3": "upsert"}
    assert store.changes_since(9).resync  # ahead of the head: a different (replaced) store


def test_a_commit_too_big_for_the_log_is_a_reset(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.commit(commit_of("r1", component("a")))
    monkeypatch.setattr(changelog, "COMMIT_ROW_LIMIT", 2)
    store.commit(commit_of("r2", *(component(f"m{i}") for i in range(3))))
    assert store.change_position() == changelog.ChangePosition(2, 2)
    assert store.changes_since(1).resync
    assert store._query("SELECT COUNT(*) FROM changes") == [(0,)]
    store.commit(commit_of("r3", component("z")))
    assert store.changes_since(2).ops == {"component:default/z": "upsert"}


def test_a_failed_commit_leaves_the_sequence_alone(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a")))
    broken = commit_of("r2", component("b"))
    broken.writes.append(write(component("c")))

    def explode() -> None:
        raise RuntimeError("boom")

    broken.before_run_record = explode
    with pytest.raises(RuntimeError):
        store.commit(broken)
    assert store.change_position().head == 1
    assert store.changes_since(0).ops == {"component:default/a": "upsert"}


def test_run_records_alone_do_not_move_the_sequence(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a")))
    store.record_run(RunRecord("r2", "2024-01-01T00:00:02Z", status="guarded"))
    assert store.change_position().head == 1


def test_body_page_walks_the_snapshot_in_ref_order(store: SqlStore) -> None:
    store.commit(commit_of("r1", *(component(n) for n in ("d", "b", "a", "c"))))
    first = store.body_page("", 3)
    assert [ref for ref, _ in first] == ["component:default/a", "component:default/b", "component:default/c"]
    assert first[0][1]["metadata"]["name"] == "a"
    assert [ref for ref, _ in store.body_page(first[-1][0], 3)] == ["component:default/d"]
    assert store.body_page("component:default/d", 3) == []


def test_a_store_of_schema_1_gains_the_log_and_keeps_its_snapshot(store_factory: StoreFactory) -> None:
    old = store_factory()
    rewind(old, 1, [component("a")])  # back to the first schema: no change log yet
    assert 2 in MIGRATIONS
    upgraded = store_factory()
    assert upgraded.count() == 1
    assert upgraded.change_position() == changelog.ChangePosition(0, 0)
    upgraded.commit(commit_of("r2", component("b")))
    assert upgraded.changes_since(0).ops == {"component:default/b": "upsert"}
