"""A first SQLite commit with its search rows staged while fetching (``store.staging``) stores
exactly what the same commit stores unstaged: same entity rows, same search rows, whatever
happened to the entities between staging and committing."""

from __future__ import annotations

import asyncio
import copy
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from openchoreo_sync.model import Entity, entity_ref
from openchoreo_sync.serialization import plain_data
from openchoreo_sync.store import scratch, staging
from openchoreo_sync.store.base import Commit, EntityWrite
from openchoreo_sync.store.sqlite import SqliteStore
from openchoreo_sync.store.staging import FirstCommitStage, StagedRows
from tests.store.test_store_suite import component, run, stored_search_rows
from tests.store.test_store_suite import write as unchecked_write


def write(entity: Entity) -> EntityWrite:
    """A write as the engine makes it (``serialization.iter_writes`` says whether it is plain)."""
    return replace(unchecked_write(entity), plain=plain_data(entity))


def with_relations(entity: Entity, *targets: str) -> Entity:
    return {**entity, "relations": [{"type": "ownedBy", "targetRef": t} for t in targets]}


def world() -> list[Entity]:
    entities = [
        with_relations(component(f"c{i:03}", description=f"D{i}", tags=[f"t{i % 5}"]), f"group:default/g{i % 3}")
        for i in range(120)
    ]
    entities.append(component("floaty", weight=0.5))  # not plain JSON data: never staged
    # an own key that reads as a relation row (and is one: the same row twice would not commit)
    entities.append(with_relations({**component("odd"), "Relations.ownedBy": "x"}, "x"))
    return entities


def stored(store: SqliteStore) -> tuple[Any, Any]:
    """Entity rows by ref (their ids in ref order) and search rows by text."""
    columns = "id, ref, kind, namespace, name, collection, family, hash, body, stale, source, etag"
    return store._query(f"SELECT {columns} FROM entities ORDER BY ref"), stored_search_rows(store)


async def stage_all(stage: FirstCommitStage, entities: list[Entity]) -> StagedRows | None:
    await stage.start()
    items = [(entity_ref(e), e) for e in entities]
    for start in range(0, len(items), 7):  # several batches, as collections come
        await stage.add(items[start : start + 7])
    return await stage.finish()


def first_commit(written: list[Entity], in_ref_order: bool, staged: StagedRows | None = None) -> Commit:
    """The commit of ``written``: as given, or in ref order and saying so (as the engine commits:
    the entity rows are then written in place with their ids, not renumbered at the end)."""
    writes = [write(e) for e in written]
    if in_ref_order:
        writes.sort(key=lambda w: w.ref)
    return Commit(run=run("r1"), writes=writes, staged=staged, in_ref_order=in_ref_order)


def commit_staged(
    path: Path, staged_entities: list[Entity], written: list[Entity], in_ref_order: bool = False
) -> tuple[SqliteStore, int]:
    store = SqliteStore(path)
    store.migrate()
    stage = store.first_commit_stage()
    assert stage is not None
    staged = asyncio.run(stage_all(stage, staged_entities))
    try:
        store.commit(first_commit(written, in_ref_order, staged))
    finally:
        asyncio.run(stage.discard())
    assert not stage.path.parent.exists(), "the scratch file outlived its stage"
    return store, staged.taken if staged is not None else 0


def commit_plain(path: Path, written: list[Entity]) -> SqliteStore:
    store = SqliteStore(path)
    store.migrate()
    store.commit(Commit(run=run("r1"), writes=[write(e) for e in written]))
    return store


ORDERS = pytest.mark.parametrize("in_ref_order", [False, True], ids=["renumbered", "in-ref-order"])


@ORDERS
def test_a_staged_first_commit_stores_what_an_unstaged_one_does(tmp_path: Path, in_ref_order: bool) -> None:
    """Entities changed after staging (as a relate hook may), staged but not written (yielded to
    a delta), written but not staged, and not stageable at all; written in any order, or in ref
    order (the staged rows then renumbered through the ids each got as it was written)."""
    staged_entities = world()
    written = copy.deepcopy(staged_entities[:100]) + staged_entities[110:]  # c100-c109 are not written
    written[3]["spec"]["owner"] = "someone-else"
    written[4]["metadata"]["tags"].append("late")
    written.append(component("unstaged", description="came later"))
    expected = commit_plain(tmp_path / "plain.sqlite3", written)
    store, taken = commit_staged(tmp_path / "staged.sqlite3", staged_entities, written, in_ref_order)
    assert taken == 98 + 10  # c000-c099 but the two changed, c110-c119; not floaty, odd, unstaged
    assert stored(store) == stored(expected)
    assert store.match_refs([[("spec.owner", ["someone-else"])]]) == ["component:default/c003"]
    assert store.match_refs([[("metadata.tags", ["late"])]]) == ["component:default/c004"]
    assert store.match_refs([[("metadata.name", ["c105"])]]) == []
    assert store.match_refs([[("relations.ownedby", ["group:default/g1"])]]) == expected.match_refs(
        [[("relations.ownedby", ["group:default/g1"])]]
    )


def test_a_stage_whose_keys_were_numbered_meanwhile_is_left_unused(tmp_path: Path) -> None:
    """Another commit numbered search keys after the stage started (its entities since removed):
    the stage's numbering may clash, so the commit makes all rows itself."""
    entities = world()
    path = tmp_path / "staged.sqlite3"
    store = SqliteStore(path)
    store.migrate()
    stage = store.first_commit_stage()
    assert stage is not None
    staged = asyncio.run(stage_all(stage, entities))
    assert staged is not None
    other = component("other", brandnew="key")
    store.commit(Commit(run=run("r0"), writes=[write(other)]))
    store.commit(Commit(run=run("r0b"), removals=[entity_ref(other)]))
    try:
        store.commit(Commit(run=run("r1"), writes=[write(e) for e in entities], staged=staged))
    finally:
        asyncio.run(stage.discard())
    expected = commit_plain(tmp_path / "plain.sqlite3", entities)
    assert stored(store)[1] == stored(expected)[1]


def test_a_failed_staging_worker_leaves_the_commit_to_do_everything(tmp_path: Path) -> None:
    entities = world()
    store = SqliteStore(tmp_path / "staged.sqlite3")
    store.migrate()
    stage = store.first_commit_stage()
    assert stage is not None

    async def broken() -> StagedRows | None:
        await stage.start()
        assert stage._proc is not None
        stage._proc.kill()
        await stage._proc.wait()
        await stage.add([(entity_ref(e), e) for e in entities])
        return await stage.finish()

    assert asyncio.run(broken()) is None
    asyncio.run(stage.discard())
    store.commit(Commit(run=run("r1"), writes=[write(e) for e in entities]))
    assert stored(store) == stored(commit_plain(tmp_path / "plain.sqlite3", entities))


def test_only_an_empty_store_stages(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.migrate()
    store.commit(Commit(run=run("r1"), writes=[write(component("a"))]))
    assert store.first_commit_stage() is None


def stageable() -> list[Entity]:
    """Entities that are all staged (``world`` less those that never are)."""
    return [e for e in world() if e["metadata"]["name"] not in ("floaty", "odd")]


def with_history(path: Path) -> SqliteStore:
    """A store emptied again: entity ids start above 1, and a relation key and another key have
    ids already (the relation rows then fall among the staged rows in key order, not after)."""
    store = SqliteStore(path)
    store.migrate()
    other = with_relations(component("other", brandnew="key"), "group:default/g0")
    store.commit(Commit(run=run("r0"), writes=[write(other)]))
    store.commit(Commit(run=run("r0b"), removals=[entity_ref(other)]))
    return store


@ORDERS
def test_a_stage_of_exactly_the_written_entities_is_copied_presorted(tmp_path: Path, in_ref_order: bool) -> None:
    """The worker's presorted copy (ids given as the commit gives them) is what the commit
    stores, on a store whose ids and keys do not start from scratch."""
    entities = stageable()
    expected = with_history(tmp_path / "plain.sqlite3")
    expected.commit(Commit(run=run("r1"), writes=[write(e) for e in entities]))
    store = with_history(tmp_path / "staged.sqlite3")
    stage = store.first_commit_stage()
    assert stage is not None
    staged = asyncio.run(stage_all(stage, entities))
    assert staged is not None
    try:
        store.commit(first_commit(entities, in_ref_order, staged))
    finally:
        asyncio.run(stage.discard())
    assert staged.presorted_taken
    assert not stage.path.parent.exists(), "the scratch files outlived their stage"
    assert stored(store) == stored(expected)
    assert store._query("SELECT MIN(id) FROM entities") == [(2,)]


@ORDERS
@pytest.mark.parametrize("worker", ["stalled", "killed"])
def test_a_presorted_copy_not_made_leaves_the_commit_to_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: str, in_ref_order: bool
) -> None:
    """The worker cannot write its presorted copy (its file is locked): the commit waits at most
    its bound, or not at all once the worker is gone, and sorts the staged rows itself."""
    monkeypatch.setattr(staging, "PRESORT_WAIT", 0.2)
    entities = stageable()
    store = SqliteStore(tmp_path / "staged.sqlite3")
    store.migrate()
    stage = store.first_commit_stage()
    assert stage is not None
    lock = sqlite3.connect(stage.sorted_path, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        staged = asyncio.run(stage_all(stage, entities))
        assert staged is not None and stage._proc is not None
        if worker == "killed":
            stage._proc.kill()
        store.commit(first_commit(entities, in_ref_order, staged))
    finally:
        lock.close()
        asyncio.run(stage.discard())
    assert not staged.presorted_taken
    assert staged.taken == len(entities)  # the staged rows were used all the same
    assert not stage.path.parent.exists(), "the scratch files outlived their stage"
    assert stored(store) == stored(commit_plain(tmp_path / "plain.sqlite3", entities))


def test_a_first_commit_in_ref_order_stores_what_a_renumbered_one_does(tmp_path: Path) -> None:
    """Without a stage, on a store whose ids and keys do not start from scratch: the same ids
    (ref order from the store's next id), rows and search rows as the commit that renumbers."""
    # beyond ASCII too: Python's order of refs must be SQLite's (UTF-8 bytes: code points)
    entities = [*reversed(world()), *(component(f"z{c}") for c in ("\u00e9", "\ufb00", "\U0001f600", "\u0800"))]
    expected = with_history(tmp_path / "plain.sqlite3")
    expected.commit(first_commit(entities, in_ref_order=False))
    store = with_history(tmp_path / "ordered.sqlite3")
    store.commit(first_commit(entities, in_ref_order=True))
    assert stored(store) == stored(expected)
    assert store._query("SELECT id, ref FROM entity_refs ORDER BY id") == expected._query(
        "SELECT id, ref FROM entity_refs ORDER BY id"
    )


def test_a_commit_said_to_be_in_ref_order_that_is_not_writes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    store.migrate()
    writes = [write(component(name)) for name in ("a", "c", "b")]
    with pytest.raises(ValueError, match="after 'component:default/c'"):
        store.commit(Commit(run=run("r1"), writes=writes, in_ref_order=True))
    assert store._query("SELECT COUNT(*) FROM entities") == [(0,)]
    assert store._query("SELECT COUNT(*) FROM runs") == [(0,)]


def test_the_scratch_directory_is_beside_the_state_file(tmp_path: Path) -> None:
    """Not in /tmp: a container's /tmp is a small volume (64 MiB in deploy/), a tmpfs is memory."""
    store = SqliteStore(tmp_path / "state" / "s.sqlite3")
    store.migrate()
    stage = store.first_commit_stage()
    assert stage is not None
    try:
        assert stage.path.parent.parent == tmp_path / "state"
        assert stage.path.parent.name.startswith(f"{scratch.PREFIX}{os.getpid()}-")
    finally:
        asyncio.run(stage.discard())
    assert not [p for p in (tmp_path / "state").iterdir() if p.name.startswith(scratch.PREFIX)]


def test_a_stopped_process_s_scratch_directory_goes_with_the_next_stage(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    dead = tmp_path / f"{scratch.PREFIX}{dead_pid}-abc"
    (dead / "sub").mkdir(parents=True)
    (dead / "stage.sqlite3").write_bytes(b"x" * 100)
    alive = tmp_path / f"{scratch.PREFIX}{os.getppid()}-def"  # another live process's: kept
    alive.mkdir()
    earlier_life = tmp_path / f"{scratch.PREFIX}{os.getpid()}-ghi"  # this pid, not this process's
    earlier_life.mkdir()
    unrelated = tmp_path / "openchoreo-stage-notours"
    unrelated.mkdir()
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.migrate()
    stage = store.first_commit_stage()
    assert stage is not None
    try:
        assert not dead.exists() and not earlier_life.exists()
        assert alive.exists() and unrelated.exists() and stage.path.parent.exists()
        assert scratch.remove_leftovers(tmp_path) == [], "a live stage is never a leftover"
        assert stage.path.parent.exists()
    finally:
        asyncio.run(stage.discard())
    assert not stage.path.parent.exists()


def test_no_room_for_a_scratch_directory_leaves_the_commit_to_do_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault a real directory gives only as root-proof permissions or a full disk: mkdtemp fails."""
    entities = world()
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.migrate()

    def no_room(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(scratch.tempfile, "mkdtemp", no_room)
    assert store.first_commit_stage() is None
    store.commit(Commit(run=run("r1"), writes=[write(e) for e in entities]))
    assert stored(store) == stored(commit_plain(tmp_path / "plain.sqlite3", entities))
