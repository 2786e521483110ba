"""Schema step 4 on a real step-3 store: the same answers after the migration, on both backends.

``tests/data/store/step3-small.sqlite3.gz`` is a state file written by the step-3 daemon (the
commit before step 4) after a sync of the mock's world (``WorldSpec(namespaces=1, projects=2,
components=3)``: 88 entities, 4,266 search rows). The oracle is the step-3 layout queried with the
step-3 statements, read before migrating; the migrated store must give the same refs, values,
facets, bodies and etags through the store API, and keep them right through later commits (its
search rows are deleted by recomputation, so rows rebuilt from step-3 bodies must match exactly).
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from openchoreo_sync.serialization import serialize
from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
from openchoreo_sync.store.postgres import PostgresStore
from openchoreo_sync.store.sql import MIGRATIONS, SCHEMA_VERSION, SqlStore
from openchoreo_sync.store.sqlite import SqliteStore

FIXTURE = Path(__file__).parents[1] / "data" / "store" / "step3-small.sqlite3.gz"
Query = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]
Filter = list[list[tuple[str, list[str] | None]]]


def step3_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.sqlite3"
    with gzip.open(FIXTURE) as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path


def filters(query: Query) -> list[Filter]:
    """Filters over the fixture's own values: a system, an owner, a relation target, a tag."""
    system = query(
        "SELECT MIN(s.value) FROM search AS s JOIN search AS k ON k.ref = s.ref AND k.key = 'kind' "
        "AND k.value = 'component' WHERE s.key = 'spec.system'",
        (),
    )[0][0]
    owner = query("SELECT MIN(value) FROM search WHERE key = 'spec.owner'", ())[0][0]
    target = query("SELECT MAX(value) FROM search WHERE key = 'relations.haspart'", ())[0][0]
    return [
        [[("kind", ["component"])]],
        [[("kind", ["component"]), ("spec.system", [system])]],
        [[("kind", ["api", "system"])], [("spec.owner", [owner])]],
        [[("relations.haspart", [target])]],
        [[("metadata.tags.openchoreo", None), ("kind", ["component"])]],
        [[("spec.definition", None)]],
        [[("kind", ["N"])]],
    ]


def old_filter(alternatives: Filter) -> tuple[str, list[Any]]:
    """Step 3's filter statement (``SqlStore._filter_sql`` before step 4)."""
    ors, params = [], []
    for conditions in alternatives:
        ands = []
        for key, values in conditions:
            if values is None:
                ands.append("SELECT ref FROM search WHERE key = ?")
                params.append(key)
            else:
                ands.append(f"SELECT ref FROM search WHERE key = ? AND value IN ({','.join('?' * len(values))})")
                params.extend([key, *values])
        ors.append(" INTERSECT ".join(ands))
    return " UNION ".join(f"SELECT ref FROM ({sql}) AS a{n}" for n, sql in enumerate(ors)), params


FILTERS: list[Filter] = []
"""The filters of the step-3 oracle (read from the fixture before migrating)."""
NAMES: list[tuple[Any, ...]] = []

KEYS = ["kind", "spec.type", "metadata.tags", "spec.definition", "relations.ownedby", "metadata.name"]


def old_answers(query: Query) -> dict[str, Any]:
    """What a step-3 store answered, from its own tables and statements."""
    answers: dict[str, Any] = {"filters": [], "values": [], "facets": []}
    FILTERS[:] = filters(query)
    NAMES[:] = query("SELECT kind, namespace, name, ref FROM entities", ())
    for alternatives in FILTERS:
        sql, params = old_filter(alternatives)
        answers["filters"].append(sorted(r[0] for r in query(sql, tuple(params))))
        marks = ",".join("?" * len(KEYS))
        rows = query(f"SELECT ref, key, value FROM search WHERE key IN ({marks}) AND ref IN ({sql})", (*KEYS, *params))
        answers["values"].append(sorted(rows, key=repr))
        rows = query(
            f"SELECT key, value, COUNT(*), MIN(ref) FROM search WHERE key IN ({marks}) AND value IS NOT NULL "
            f"AND ref IN ({sql}) GROUP BY key, value",
            (*KEYS, *params),
        )
        answers["facets"].append(sorted(rows))
    answers["all_values"] = sorted(
        query("SELECT ref, key, value FROM search WHERE key IN ('kind', 'spec.output.text.content')", ()), key=repr
    )
    answers["all_facets"] = sorted(
        query("SELECT key, value, COUNT(*), MIN(ref) FROM search WHERE value IS NOT NULL GROUP BY key, value", ())
    )
    answers["served"] = {r[0]: (r[1], r[2]) for r in query("SELECT ref, body, etag FROM entities", ())}
    answers["index"] = sorted(query("SELECT ref, hash, collection, family, stale, source FROM entities", ()))
    answers["names"] = sorted(query("SELECT kind, namespace, name, ref FROM entities", ()))
    return answers


def new_answers(store: SqlStore) -> dict[str, Any]:
    answers: dict[str, Any] = {"filters": [], "values": [], "facets": []}
    for alternatives in FILTERS:
        answers["filters"].append(sorted(store.match_refs(alternatives) or []))
        answers["values"].append(sorted((tuple(r) for r in store.search_values(KEYS, alternatives)), key=repr))
        answers["facets"].append(sorted(store.facet_counts(KEYS, alternatives)))
    answers["all_values"] = sorted(
        (tuple(r) for r in store.search_values(["kind", "spec.output.text.content"])), key=repr
    )
    every_key = [r[0] for r in store._query("SELECT key FROM search_keys")]
    answers["all_facets"] = sorted(store.facet_counts(every_key))
    index = store.load_index()
    answers["served"] = store.load_served(index)
    answers["index"] = sorted((ref, e.hash, e.collection, e.family, int(e.stale), e.source) for ref, e in index.items())
    names = []
    for kind, namespace, name, ref in NAMES:
        hit = store.find_by_name(kind, namespace, name)
        assert hit is not None and hit[0] == ref
        names.append((kind, namespace, name, hit[0]))
    answers["names"] = sorted(names)
    return answers


def sqlite_query(path: Path) -> Query:
    def run(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    return run


def assert_same_answers(before: dict[str, Any], after: dict[str, Any]) -> None:
    for name in after:
        assert after[name] == before[name], f"{name} differs after the migration"
    assert all(before["filters"][:-1]) and not before["filters"][-1]
    assert any(v is None for _r, _k, v in before["all_values"])


def edit_and_remove(store: SqlStore) -> tuple[str, str]:
    """A later commit on the migrated store: one entity rewritten (a new title), one removed."""
    index = store.load_index()
    changed, removed = sorted(ref for ref in index if ref.startswith("component:"))[:2]
    entity = store.load_bodies([changed])[changed]
    entity["metadata"]["title"] = "Renamed After Migration"
    body, digest = serialize(entity)
    entry = index[changed]
    write = EntityWrite(changed, entity, body, digest, entry.collection, entry.family, entry.stale, entry.source)
    store.commit(Commit(run=RunRecord("after-4", "2026-12-01T00:00:00Z"), writes=[write], removals=[removed]))
    return changed, removed


def assert_later_commit_keeps_rows_exact(store: SqlStore, changed: str, removed: str, before: dict[str, Any]) -> None:
    titles = dict((ref, value) for ref, _key, value in store.search_values(["metadata.title"]))
    assert titles[changed] == "renamed after migration"
    assert removed not in titles
    old_title = next(v for r, k, v in before["all_values_titles"] if r == changed)
    assert store.match_refs([[("metadata.title", [old_title])]]) == [], "the old title's row outlived the rewrite"
    assert removed not in (store.match_refs([[("kind", ["component"])]]) or [])
    kept = sum(1 for _ in before["served"]) - 1
    assert store.count() == kept


def test_a_step3_sqlite_file_migrates_and_serves_the_same_answers(tmp_path: Path) -> None:
    path = step3_file(tmp_path)
    query = sqlite_query(path)
    assert query("SELECT value FROM meta WHERE key = 'schema_version'", ()) == [("3",)]
    before = old_answers(query)
    before["all_values_titles"] = query("SELECT ref, key, value FROM search WHERE key = 'metadata.title'", ())
    store = SqliteStore(path)
    try:
        store.migrate()
        assert store.read_only_reason is None
        assert store._query("SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
        columns = {r[1] for r in store._query("PRAGMA table_info(search)")}
        assert columns == {"key_id", "value", "entity_id"}
        assert "WITHOUT ROWID" in store._query("SELECT sql FROM sqlite_master WHERE name = 'search'")[0][0]
        assert {r[0] for r in store._query("SELECT DISTINCT typeof(body) FROM entities")} == {"blob"}
        assert_same_answers(before, new_answers(store))
        changed, removed = edit_and_remove(store)
        assert_later_commit_keeps_rows_exact(store, changed, removed, before)
    finally:
        store.close()


@pytest.mark.postgres
def test_a_step3_postgres_store_migrates_and_serves_the_same_answers(tmp_path: Path, pg_dsn: str) -> None:
    """The fixture's step-3 tables copied into PostgreSQL's step-3 layout (the same statements
    the step-3 daemon ran), then migrated by the PostgreSQL store."""
    path = step3_file(tmp_path)
    query = sqlite_query(path)
    before = old_answers(query)
    before["all_values_titles"] = query("SELECT ref, key, value FROM search WHERE key = 'metadata.title'", ())
    with psycopg.connect(pg_dsn) as conn:
        for version in (1, 2, 3):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        for table in ("entities", "search", "meta", "collections", "runs", "changes"):
            columns = [r[1] for r in query(f"PRAGMA table_info({table})", ())]
            rows = query(f"SELECT {', '.join(columns)} FROM {table}", ())
            if rows:
                with conn.cursor() as cur:
                    marks = ", ".join(["%s"] * len(columns))
                    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    store = PostgresStore(pg_dsn)
    try:
        store.migrate()
        columns = {
            r[0]
            for r in store._query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'search' AND table_schema = current_schema()"
            )
        }
        assert columns == {"key_id", "value", "entity_id"}
        assert_same_answers(before, new_answers(store))
        changed, removed = edit_and_remove(store)
        assert_later_commit_keeps_rows_exact(store, changed, removed, before)
    finally:
        store.close()
