"""A store rebuilt in an earlier schema's layout, as the daemon of that schema wrote it.

Step 4 changed the entities and search tables (``store.search_table``), so a test of an older
step's migration cannot just undo one column of a current store: it rebuilds the tables with the
older steps' own statements (``sql.MIGRATIONS``) and writes the entities the way those steps did
(bodies as text, search rows by ref and key text, the etag column from step 3 on).
"""

from __future__ import annotations

from openchoreo_sync.model import Entity, entity_ref
from openchoreo_sync.search import search_rows
from openchoreo_sync.serialization import serialize
from openchoreo_sync.store.served import served_etag
from openchoreo_sync.store.sql import MIGRATIONS, SqlStore

TABLES = ("entities", "search", "search_keys", "entity_refs", "collections", "runs", "pending_removals", "approvals",
          "outputs", "meta", "changes")  # fmt: skip


def rewind(store: SqlStore, version: int, entities: list[Entity], collection: str = "components/default") -> None:
    """Replace everything in ``store`` by ``entities`` stored in schema ``version``'s layout (1-3)."""
    sql = store._sql
    with store._transaction() as cur:
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        for step in range(1, version + 1):
            for statement in MIGRATIONS[step]:
                cur.execute(statement)
        for entity in entities:
            ref = entity_ref(entity)
            body, digest = serialize(entity)
            values = [ref, str(entity["kind"]).lower(), str(entity["metadata"].get("namespace") or "default").lower(),
                      entity["metadata"]["name"], collection, "fam", digest, body]  # fmt: skip
            columns = "ref, kind, namespace, name, collection, family, hash, body"
            if version >= 3:
                columns += ", etag"
                values.append(served_etag(entity, body))
            marks = ", ".join("?" * len(values))
            cur.execute(sql(f"INSERT INTO entities ({columns}) VALUES ({marks})"), values)
            cur.executemany(
                sql("INSERT INTO search (ref, key, value) VALUES (?, ?, ?)"),
                [(ref, key, value) for key, value in search_rows(entity)],
            )
        cur.execute(sql("INSERT INTO meta (key, value) VALUES ('schema_version', ?)"), (str(version),))
