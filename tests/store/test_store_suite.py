"""One behaviour, two databases: every test here runs against SQLite and PostgreSQL.

The engine and the read API only know the ``StateStore`` protocol; these tests pin the semantics
both backends must share so a deployment can switch ``openchoreo.store`` without surprises.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from openchoreo_sync.errors import StoreError
from openchoreo_sync.model import Entity, entity_ref
from openchoreo_sync.serialization import serialize
from openchoreo_sync.store.base import Commit, EntityWrite, IndexEntry, RunRecord
from openchoreo_sync.store.search_table import BULK_INDEXES
from openchoreo_sync.store.sql import SCHEMA_VERSION, SqlStore
from openchoreo_sync.store.sqlite import SqliteStore
from tests.store.conftest import StoreFactory
from tests.store.old_layout import rewind


def component(name: str, *, namespace: str = "default", owner: str = "team-a", **spec: Any) -> Entity:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": namespace, "tags": ["python", "svc"]},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner, **spec},
    }


def write(entity: Entity, *, collection: str = "components/default", family: str = "fam") -> EntityWrite:
    body, digest = serialize(entity)
    return EntityWrite(entity_ref(entity), entity, body, digest, collection, family, stale=False)


def run(run_id: str, **summary: Any) -> RunRecord:
    return RunRecord(run_id, started_at="2024-01-01T00:00:00Z", status="ok", summary=summary)


def commit_of(run_id: str, *entities: Entity, **kwargs: Any) -> Commit:
    return Commit(run=run(run_id), writes=[write(e) for e in entities], **kwargs)


# --- schema --------------------------------------------------------------------------------


def test_migrate_is_idempotent_and_keeps_data(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.commit(commit_of("r1", component("a")))
    store.migrate()
    again = store_factory()  # a second replica starting on the same database
    again.migrate()
    assert again.count() == 1
    assert again._query("SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]


# --- snapshot ------------------------------------------------------------------------------


def test_commit_then_index_and_bodies(store: SqlStore) -> None:
    a, b = component("a"), component("b", namespace="Team-X")
    c = component("c")
    store.commit(
        Commit(
            run=run("r1"),
            writes=[
                write(a),
                write(b, collection="components/team-x"),
                write(c, collection="apis/default", family="x"),
            ],
            collections_ok={"components/default": "2024-01-01T00:00:00Z"},
            collections_failed={"apis/default": "HTTP 500"},
        )
    )
    index = store.load_index()
    assert set(index) == {"component:default/a", "component:team-x/b", "component:default/c"}
    assert index["component:default/c"] == IndexEntry(serialize(c)[1], "apis/default", "x", False)
    assert store.load_bodies(["component:default/a", "component:team-x/b", "component:nope/zz"]) == {
        "component:default/a": a,
        "component:team-x/b": b,
    }
    assert store.load_bodies([]) == {}
    assert set(store.load_collection_bodies(["components/default", "components/team-x"])) == {
        "component:default/a",
        "component:team-x/b",
    }
    assert store.collection_times() == {"components/default": "2024-01-01T00:00:00Z"}
    assert store.families() == {ref: entry.family for ref, entry in index.items()}
    assert store.families()["component:default/c"] == "x"
    assert store.count() == 3
    assert dict(store.all_bodies())["component:default/c"] == c


def test_content_digest_names_the_refs_and_contents_and_is_read_with_the_bodies(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a"), component("b")))
    first = store.content_digest()
    bodies, digest = store.all_bodies_with_digest()
    assert digest == first and dict(bodies) == dict(store.all_bodies())
    store.commit(commit_of("r2", component("a"), component("b")))  # the same content again
    assert store.content_digest() == first
    store.commit(commit_of("r3", component("a", owner="team-b"), component("b")))
    changed = store.content_digest()
    store.commit(commit_of("r4", component("a", owner="team-b"), component("b"), component("c")))
    assert len({first, changed, store.content_digest()}) == 3


def test_load_bodies_beyond_one_chunk(store: SqlStore) -> None:
    entities = [component(f"e{i}") for i in range(1203)]
    store.commit(commit_of("r1", *entities))
    refs = [entity_ref(e) for e in entities]
    assert len(store.load_bodies(refs)) == 1203
    assert len(store.load_collection_bodies(["components/default"])) == 1203


def test_rewrite_replaces_body_and_search_rows(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a", owner="team-a")))
    store.commit(commit_of("r2", component("a", owner="team-b")))
    assert store.load_bodies(["component:default/a"])["component:default/a"]["spec"]["owner"] == "team-b"
    assert store.match_refs([[("spec.owner", ["team-a"])]]) == []
    assert store.match_refs([[("spec.owner", ["team-b"])]]) == ["component:default/a"]


def test_removals_delete_entity_and_search_rows(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a"), component("b")))
    store.commit(Commit(run=run("r2"), removals=["component:default/a"]))
    assert set(store.load_index()) == {"component:default/b"}
    assert store.match_refs([[("metadata.name", ["a"])]]) == []
    assert store.facets(["metadata.name"]) == {"metadata.name": [("b", 1)]}


def test_pending_removals_replace_or_keep(store: SqlStore) -> None:
    store.commit(Commit(run=run("r1"), pending_removals={"component:default/a": 1, "component:default/b": 2}))
    assert store.pending_removals() == {"component:default/a": 1, "component:default/b": 2}
    store.commit(Commit(run=run("r2"), pending_removals={"component:default/c": 1}))
    assert store.pending_removals() == {"component:default/c": 1}
    store.commit(Commit(run=run("r3"), pending_removals={}, replace_pending=False))
    assert store.pending_removals() == {"component:default/c": 1}
    store.commit(Commit(run=run("r4"), pending_removals={}))
    assert store.pending_removals() == {}


def test_a_failed_commit_changes_nothing(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a")))
    broken = commit_of("r2", component("b"))
    broken.writes.append(write(component("c")))
    broken.writes[-1].entity = {"kind": "Component", "metadata": {}}  # no name: fails mid-commit
    with pytest.raises(KeyError):
        store.commit(broken)
    assert set(store.load_index()) == {"component:default/a"}
    assert store.snapshot_version() == "r1"
    assert store.get_run("r2") is None


# --- runs, approvals, outputs ----------------------------------------------------------------


def test_run_records(store: SqlStore) -> None:
    first = RunRecord("r1", "2024-01-01T00:00:01Z", trigger="schedule", summary={"host": "a", "n": 1})
    store.record_run(first)
    store.record_run(RunRecord("r2", "2024-01-01T00:00:02Z", status="failed", trigger="event"))
    first.status, first.finished_at, first.summary = "ok", "2024-01-01T00:00:09Z", {"host": "a", "n": 2}
    store.record_run(first)
    got = store.get_run("r1")
    summary = {"host": "a", "n": 2}
    assert got == RunRecord("r1", "2024-01-01T00:00:01Z", "2024-01-01T00:00:09Z", "ok", "schedule", summary)
    assert [r.run_id for r in store.recent_runs()] == ["r2", "r1"]
    assert [r.run_id for r in store.recent_runs(limit=1)] == ["r2"]
    assert store.get_run("missing") is None
    store.commit(Commit(run=RunRecord("r3", "2024-01-01T00:00:03Z", status="ok", summary={"x": [1, 2]})))
    assert store.recent_runs(limit=1)[0].summary == {"x": [1, 2]}


def test_approvals_are_idempotent_and_consumed_by_commit(store: SqlStore) -> None:
    assert store.approvals() == set()
    store.approve("guarded-1")
    store.approve("guarded-1")
    store.approve("guarded-2")
    assert store.approvals() == {"guarded-1", "guarded-2"}
    store.commit(Commit(run=run("r1"), consumed_approval="guarded-1"))
    assert store.approvals() == {"guarded-2"}


def test_output_state(store: SqlStore) -> None:
    assert store.output_state("backstage") == (None, True)
    store.set_output_state("backstage", "r1", False)
    store.set_output_state("files", "r1", True)
    store.set_output_state("backstage", "r2", False)
    assert store.output_state("backstage") == ("r2", False)
    assert store.output_state("files") == ("r1", True)


def test_snapshot_version_follows_commits_not_run_records(store: SqlStore) -> None:
    assert store.snapshot_version() is None
    store.commit(commit_of("r1", component("a")))
    store.record_run(RunRecord("r2", "2024-01-01T00:00:02Z", status="failed"))
    assert store.snapshot_version() == "r1"
    store.commit(commit_of("r3"))
    assert store.snapshot_version() == "r3"


# --- read API queries ------------------------------------------------------------------------


@pytest.fixture
def catalog(store: SqlStore) -> SqlStore:
    store.commit(
        commit_of(
            "r1",
            component("a", owner="team-a", system="shop"),
            component("b", owner="team-b"),
            component("c", owner="team-a", namespace="other"),
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "API",
                "metadata": {"name": "a-api"},
                "spec": {"type": "openapi", "owner": "Team-A"},
            },
        )
    )
    return store


def test_match_refs_or_of_ands_and_existence(catalog: SqlStore) -> None:
    def match(alternatives: list[list[tuple[str, list[str] | None]]]) -> list[str] | None:
        refs = catalog.match_refs(alternatives)
        return None if refs is None else sorted(refs)

    assert match([]) is None
    assert match([[("kind", ["component"]), ("spec.owner", ["team-a"])]]) == [
        "component:default/a",
        "component:other/c",
    ]
    either = [[("kind", ["api"])], [("metadata.namespace", ["other"])]]
    assert match(either) == ["api:default/a-api", "component:other/c"]
    assert match([[("spec.owner", ["team-a", "team-b"]), ("metadata.namespace", ["default"])]]) == [
        "api:default/a-api",
        "component:default/a",
        "component:default/b",
    ]
    assert match([[("spec.system", None)]]) == ["component:default/a"]
    assert match([[("spec.system", None), ("kind", ["api"])]]) == []
    assert match([[("metadata.tags", ["python"]), ("kind", ["component"])]]) == [
        "component:default/a",
        "component:default/b",
        "component:other/c",
    ]


def test_search_rows_survive_a_first_bulk_commit_and_a_later_rewrite(store: SqlStore) -> None:
    """A first commit loads the search table before building its indexes (PostgreSQL: by COPY),
    including the NULL value that stands for a value over Backstage's length limit."""
    long = component("long", description="x" * 300)
    store.commit(commit_of("r1", long, component("short", description="brief")))
    assert set(BULK_INDEXES[store.dialect]) <= index_names(store), "the bulk load rebuilt the search indexes"
    assert sorted(store.match_refs([[("spec.description", None)]]) or []) == [
        "component:default/long",
        "component:default/short",
    ]
    assert store.match_refs([[("spec.description", ["brief"])]]) == ["component:default/short"]
    assert ("component:default/long", "spec.description", None) in store.search_values(["spec.description"])
    store.commit(commit_of("r2", component("short", description="changed")))
    assert store.match_refs([[("spec.description", ["brief"])]]) == []
    assert store.match_refs([[("spec.description", ["changed"])]]) == ["component:default/short"]


def stored_search_rows(store: SqlStore) -> set[tuple[str, str, str | None]]:
    rows = store._query(
        "SELECT r.ref, k.key, s.value FROM search AS s JOIN search_keys AS k ON k.id = s.key_id "
        "JOIN entity_refs AS r ON r.id = s.entity_id"
    )
    return {(ref, key, None if value == "N" else value) for ref, key, value in rows}


def expected_search_rows(entities: list[Entity]) -> set[tuple[str, str, str | None]]:
    from openchoreo_sync.search import search_rows

    return {(entity_ref(e), key, value) for e in entities for key, value in search_rows(e)}


def test_every_row_of_a_commit_is_stored_whatever_the_statement_sizes(store: SqlStore) -> None:
    """Rows go in many to a statement (SQLite: as many as 999 parameters allow); a commit whose
    row counts are no multiple of that, first or later, stores every row and no other."""
    first = [component(f"c{i:03}", description=f"d{i}", tags=[f"t{i % 7}"]) for i in range(251)]
    store.commit(commit_of("r1", *first))
    assert store.count() == 251
    assert stored_search_rows(store) == expected_search_rows(first)
    changed = [component(f"c{i:03}", description=f"changed {i}") for i in range(0, 251, 3)]
    added = [component(f"n{i}") for i in range(88)]
    store.commit(commit_of("r2", *changed, *added))
    now = {entity_ref(e): e for e in first} | {entity_ref(e): e for e in changed + added}
    assert store.count() == len(now) == 339
    assert stored_search_rows(store) == expected_search_rows(list(now.values()))
    assert store.load_bodies(list(now)) == now


def index_names(store: SqlStore) -> set[str]:
    if store.dialect == "sqlite":
        return {row[0] for row in store._query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {row[0] for row in store._query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}


def test_facets(catalog: SqlStore) -> None:
    facets = catalog.facets(["kind", "spec.owner", "spec.missing"])
    assert sorted(facets["kind"]) == [("api", 1), ("component", 3)]
    assert sorted(facets["spec.owner"]) == [("team-a", 3), ("team-b", 1)]
    assert facets["spec.missing"] == []
    scoped = catalog.facets(["spec.owner"], [[("kind", ["component"])]])
    assert sorted(scoped["spec.owner"]) == [("team-a", 2), ("team-b", 1)]
    assert catalog.facets([]) == {}


def test_facet_counts_group_in_sql_and_name_the_lowest_ref(catalog: SqlStore) -> None:
    rows = catalog.facet_counts(["Kind", "spec.owner"], [[("kind", ["component"])]])
    assert sorted(rows) == [
        ("kind", "component", 3, "component:default/a"),
        ("spec.owner", "team-a", 2, "component:default/a"),
        ("spec.owner", "team-b", 1, "component:default/b"),
    ]
    assert sorted(catalog.facet_counts(["spec.owner"])) == [
        ("spec.owner", "team-a", 3, "api:default/a-api"),
        ("spec.owner", "team-b", 1, "component:default/b"),
    ]
    assert catalog.facet_counts([]) == []


def test_find_by_name_compares_kind_namespace_and_name_ignoring_case(catalog: SqlStore) -> None:
    hit = catalog.find_by_name("COMPONENT", "Other", "C")
    assert hit is not None and hit[0] == "component:other/c"
    assert json.loads(hit[1])["metadata"]["name"] == "c"
    assert catalog.find_by_name("component", "default", "c") is None
    assert catalog.find_by_name("api", "default", "A-API") is not None


def test_served_etag_is_stored_only_for_bodies_the_read_api_can_splice(store: SqlStore) -> None:
    related = {**component("rel"), "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]}
    own_uid = {**related, "metadata": {"name": "own", "uid": "u-1"}}
    store.commit(commit_of("r1", related, own_uid, component("bare")))
    served = store.load_served(["component:default/rel", "component:default/own", "component:default/bare", "x:y/z"])
    body, etag = served["component:default/rel"]
    assert body == serialize(related)[0]
    assert etag == hashlib.sha1(body.encode()).hexdigest()
    assert served["component:default/own"][1] is None, "an entity with a uid of its own keeps it: no splice"
    assert served["component:default/bare"][1] is None, "no relations key: the read API must add one"
    assert "x:y/z" not in served


def test_migration_3_gives_earlier_rows_their_served_etag(store_factory: StoreFactory) -> None:
    """Rows written before the etag column existed get it from the migration (unless not spliceable).

    The store is rebuilt in the step-2 layout (``old_layout``) and opened again: steps 3 and 4 run on it."""
    related = {**component("old"), "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]}
    store = store_factory()
    rewind(store, 2, [related, component("bare")])
    store.close()
    again = store_factory()
    assert "entities_name" in index_names(again)
    served = again.load_served(["component:default/old", "component:default/bare"])
    body, etag = served["component:default/old"]
    assert etag == hashlib.sha1(body.encode()).hexdigest()
    assert served["component:default/bare"][1] is None
    assert again.find_by_name("component", "default", "OLD") is not None
    assert again.match_refs([[("relations.ownedby", ["group:default/team-a"])]]) == ["component:default/old"]


# --- isolation -------------------------------------------------------------------------------


def test_a_reader_thread_never_sees_half_a_commit(store_factory: StoreFactory) -> None:
    """Each commit swaps the whole catalog (removes generation g-1, writes generation g).

    A reader on its own connection that ever saw a mix of generations, or a count other than
    SIZE, would have seen a half-applied commit.
    """
    size, generations = 300, 25
    writer = store_factory()
    reader = store_factory()

    def generation(g: int) -> list[Entity]:
        return [component(f"g{g % 2}-{i}", generation=g) for i in range(size)]

    writer.commit(commit_of("gen-0", *generation(0)))
    seen: list[tuple[int, set[int]]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                bodies = [body for _, body in reader.all_bodies()]
                seen.append((len(bodies), {b["spec"]["generation"] for b in bodies}))
        except BaseException as exc:  # surfaced in the main thread
            failures.append(exc)

    thread = threading.Thread(target=read, name="store-reader")
    thread.start()
    try:
        for g in range(1, generations + 1):
            previous = [entity_ref(e) for e in generation(g - 1)]
            swap = Commit(run=run(f"gen-{g}"), writes=[write(e) for e in generation(g)], removals=previous)
            writer.commit(swap)
    finally:
        done.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the reader thread did not stop"
    assert not failures, failures
    assert len(seen) >= 2, "the reader never overlapped the writer"
    torn = [s for s in seen if s[0] != size or len(s[1]) != 1]
    assert not torn, f"reader saw half-applied commits: {torn[:3]}"
    assert len({min(gens) for _, gens in seen}) >= 2, "the reader never saw a commit land"
    assert writer.snapshot_version() == f"gen-{generations}"


def test_each_thread_has_its_own_connection(store: SqlStore) -> None:
    store.commit(commit_of("r1", component("a")))
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(store.count())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert counts == [1, 1, 1, 1]
    assert len(store._all_connections) == 5


def test_commit_of_many_entities_is_fast_enough(store: SqlStore) -> None:
    """A full 10k-entity first commit must not take longer than a run's whole budget."""
    entities = [component(f"bulk-{i}") for i in range(10_000)]
    started = time.perf_counter()
    store.commit(commit_of("bulk", *entities))
    elapsed = time.perf_counter() - started
    assert store.count() == 10_000
    assert elapsed < 20, f"committing 10k entities took {elapsed:.1f}s"


def test_a_first_sqlite_commit_numbers_entities_in_ref_order(tmp_path: Any) -> None:
    """Written in any order, a first commit's entities get ids in ref order (the read API then
    gets its matches already sorted); later entities get the next ids, never a removed one's."""
    from pathlib import Path

    from openchoreo_sync.store.sqlite import SqliteStore

    store = SqliteStore(Path(tmp_path) / "state.sqlite3")
    store.migrate()
    try:
        names = ["m", "c", "x", "a", "q"]
        store.commit(commit_of("r1", *(component(n) for n in names)))
        by_id = [r[0] for r in store._query("SELECT ref FROM entity_refs ORDER BY id")]
        assert by_id == sorted(f"component:default/{n}" for n in names)
        assert [r[0] for r in store._query("SELECT ref FROM entities ORDER BY id")] == by_id
        assert store.match_refs([[("kind", ["component"])]]) == by_id
        store.commit(Commit(run=run("r2"), removals=["component:default/x"]))
        store.commit(commit_of("r3", component("b")))
        assert store._query("SELECT id FROM entities WHERE ref = 'component:default/b'") == [(6,)]
    finally:
        store.close()


def test_a_search_key_first_stored_after_a_query_is_found_by_the_next(store: SqlStore) -> None:
    """Queries name keys they know by id (cached); a key that did not exist yet is looked up again."""
    store.commit(commit_of("r1", component("a")))
    assert store.match_refs([[("spec.fresh", None)]]) == []
    assert store.facet_counts(["spec.fresh"]) == []
    store.commit(commit_of("r2", component("b", fresh="yes")))
    assert store.match_refs([[("spec.fresh", None)]]) == ["component:default/b"]
    assert store.match_refs([[("spec.fresh", ["yes"]), ("kind", ["component"])]]) == ["component:default/b"]
    assert store.facet_counts(["spec.fresh"]) == [("spec.fresh", "yes", 1, "component:default/b")]
    assert store.search_values(["spec.fresh"]) == [("component:default/b", "spec.fresh", "yes")]


def test_a_facets_lowest_ref_counts_entities_added_after_the_first_commit(store: SqlStore) -> None:
    """A first commit's ids follow ref order; an entity added later sorting before them is still
    the lowest ref of its values, scoped or not; so is an earlier one once that one is removed."""
    store.commit(commit_of("r1", component("m"), component("x", owner="team-b"), component("q")))
    assert sorted(store.facet_counts(["spec.owner"])) == [
        ("spec.owner", "team-a", 2, "component:default/m"),
        ("spec.owner", "team-b", 1, "component:default/x"),
    ]
    store.commit(commit_of("r2", component("b"), component("z", owner="team-b")))
    assert sorted(store.facet_counts(["spec.owner"])) == [
        ("spec.owner", "team-a", 3, "component:default/b"),
        ("spec.owner", "team-b", 2, "component:default/x"),
    ]
    scoped = store.facet_counts(["spec.owner"], [[("metadata.name", ["q", "z"])]])
    assert sorted(scoped) == [
        ("spec.owner", "team-a", 1, "component:default/q"),
        ("spec.owner", "team-b", 1, "component:default/z"),
    ]
    store.commit(Commit(run=run("r3"), removals=["component:default/b", "component:default/x"]))
    assert sorted(store.facet_counts(["spec.owner"])) == [
        ("spec.owner", "team-a", 2, "component:default/m"),
        ("spec.owner", "team-b", 1, "component:default/z"),
    ]


@pytest.mark.parametrize("read", ["load_index", "families"])
def test_a_whole_table_read_that_fails_is_a_store_error(tmp_path: Path, read: str) -> None:
    """Not the driver's exception: callers (the engine, an output) handle StoreError."""
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.migrate()
    store.commit(Commit(run=run("r1"), writes=[write(component("a"))]))
    with sqlite3.connect(tmp_path / "s.sqlite3") as other:
        other.execute("ALTER TABLE entities RENAME TO gone")
    with pytest.raises(StoreError, match="could not be read"):
        getattr(store, read)()
