"""Schema step 4: integer ids for entities and search keys, and a compact search table.

Up to step 3 every search row repeated its entity's ref and its key as text, three times over
(the table, ``(key, value, ref)`` and ``(ref)``): ~510k rows were 118 of a 153 MB state file at
10k components. From step 4 a row is ``(key id, value, entity id)``:

* ``search_keys`` numbers the distinct keys (~5k at 10k components); a query names its keys by
  text and the store looks their ids up in the same statement.
* ``entities.id`` numbers entities. Ids are never reused (``meta.entity_id_high`` remembers the
  highest one ever given), and an entity keeps its id for as long as it is stored.
  ``entity_refs`` maps ids back to refs in rows of ~50 bytes: a query turns matched ids into refs
  through it, not through the entity rows (~850 bytes each with their bodies), so the lookups
  stay within a few hot pages (0.7 MB at 10k components).
* On SQLite the search table is ``WITHOUT ROWID``, clustered on ``(key_id, value, entity_id)``:
  the table is its own covering index. PostgreSQL keeps a heap table with that index.
* There is no index by entity: a commit deletes an entity's old rows by recomputing them from its
  stored body (``search.search_rows`` is a pure function of the body), by primary key.
  :data:`ROWS_VERSION` (kept in ``meta``) names that function's output: a change to it must come
  with a schema step that rebuilds the table from the bodies (``SqlStore._rebuild_search``, as
  step 4 does), or old rows would outlive their entities' rewrites.

A value of None (a JSON null, or longer than Backstage's 200 characters) is stored as
:data:`NO_VALUE`, because a primary key column cannot be NULL. Stored values are lower-cased, so
an upper-case letter can never be a real one; the store translates it back to None on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable

NO_VALUE = "N"
"""Stands for a None value (no lower-cased value is ever "N")."""

ROWS_VERSION = "1"
"""Version of ``search.search_rows``'s output the stored rows were made with (``meta.search_rows``)."""

ROWS_VERSION_KEY = "search_rows"
ENTITY_ID_KEY = "entity_id_high"

ENTITY_COLUMNS = "ref, kind, namespace, name, collection, family, hash, body, stale, source, etag"

SQLITE_SEARCH_TABLE = """CREATE TABLE search (
            key_id INTEGER NOT NULL, value TEXT NOT NULL, entity_id INTEGER NOT NULL,
            PRIMARY KEY (key_id, value, entity_id)) WITHOUT ROWID"""
"""The SQLite search table; a first commit's staging worker makes its presorted copy with the
same definition, so that copy can be transferred page by page (``staging``)."""


def ref_order_id_map(source: str) -> str:
    """The statement filling ``temp.id_map (old, new, ref)`` from ``source``'s ``(id, ref)``: new
    ids from the bound parameter on, in ref order. A first commit numbers its entities so, and the
    staging worker's presorted copy is usable only because it numbers them with this same
    statement (``stage_worker.presort``)."""
    return (
        "INSERT INTO temp.id_map (old, new, ref) "
        f"SELECT id, ? + row_number() OVER (ORDER BY ref) - 1, ref FROM {source}"
    )


ID_MAP_TABLE = "CREATE TEMP TABLE id_map (old INTEGER PRIMARY KEY, new INTEGER NOT NULL, ref TEXT NOT NULL)"


STEP_4: dict[str, list[str]] = {
    "sqlite": [
        # A rowid alias as the id, the ref unique; the body column holds compressed bytes
        # (``compressed_body`` is ``bodies.encode_body``, registered on the store's connections).
        """CREATE TABLE entities_v4 (
            id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, namespace TEXT NOT NULL,
            name TEXT NOT NULL, collection TEXT NOT NULL, family TEXT NOT NULL, hash TEXT NOT NULL,
            body BLOB NOT NULL, stale INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT '', etag TEXT)""",
        f"INSERT INTO entities_v4 (id, {ENTITY_COLUMNS}) "
        f"SELECT row_number() OVER (ORDER BY ref), {ENTITY_COLUMNS.replace('body', 'compressed_body(body)')} "
        "FROM entities",
        "DROP TABLE entities",
        "ALTER TABLE entities_v4 RENAME TO entities",
        "CREATE INDEX entities_collection ON entities (collection)",
        "CREATE INDEX entities_source ON entities (source)",
        "CREATE INDEX entities_name ON entities (kind, namespace, lower(name))",
        "DROP TABLE search",
        "CREATE TABLE entity_refs (id INTEGER PRIMARY KEY, ref TEXT NOT NULL)",
        "INSERT INTO entity_refs (id, ref) SELECT id, ref FROM entities",
        "CREATE TABLE search_keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)",
        SQLITE_SEARCH_TABLE,
    ],
    "postgres": [
        "ALTER TABLE entities ADD COLUMN id BIGINT",
        """UPDATE entities SET id = numbered.n
           FROM (SELECT ref, row_number() OVER (ORDER BY ref) AS n FROM entities) AS numbered
           WHERE entities.ref = numbered.ref""",
        "ALTER TABLE entities ALTER COLUMN id SET NOT NULL",
        "CREATE UNIQUE INDEX entities_id ON entities (id)",
        "DROP TABLE search",
        "CREATE TABLE entity_refs (id BIGINT PRIMARY KEY, ref TEXT NOT NULL)",
        "INSERT INTO entity_refs (id, ref) SELECT id, ref FROM entities",
        "CREATE TABLE search_keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)",
        "CREATE TABLE search (key_id INTEGER NOT NULL, value TEXT NOT NULL, entity_id BIGINT NOT NULL)",
        "CREATE INDEX search_key_value_entity ON search (key_id, value, entity_id)",
    ],
}
"""Step 4 per backend; the search rows are then rebuilt from the stored bodies (``SqlStore``)."""

BULK_INDEXES: dict[str, dict[str, str]] = {
    "sqlite": {},
    "postgres": {
        "search_key_value_entity": "CREATE INDEX IF NOT EXISTS search_key_value_entity "
        "ON search (key_id, value, entity_id)",
    },
}
"""Indexes a first commit drops and builds after loading (SQLite's table is clustered: none)."""


def stored_value(value: str | None) -> str:
    return NO_VALUE if value is None else value


def served_value(value: str) -> str | None:
    return None if value == NO_VALUE else value


def filter_values(values: list[str]) -> list[str | None]:
    """Values a filter may compare with: :data:`NO_VALUE` never matches (a None never equals a
    value), and an empty list becomes ``[None]`` (``IN (NULL)``: valid SQL everywhere, matches nothing)."""
    kept: list[str | None] = [v for v in values if v != NO_VALUE]
    return kept or [None]


class KeyIds:
    """The ``search_keys`` numbering as one commit sees it: known keys, and those it adds."""

    def __init__(self, rows: Iterable[tuple[str, int]]) -> None:
        self.ids: dict[str, int] = {str(key): int(key_id) for key, key_id in rows}
        self._next = max(self.ids.values(), default=0) + 1
        self.added: list[tuple[int, str]] = []

    def get(self, key: str) -> int:
        key_id = self.ids.get(key)
        if key_id is None:
            key_id = self.ids[key] = self._next
            self._next += 1
            self.added.append((key_id, key))
        return key_id

    def bump(self) -> None:
        """Number the next new key after every id now in :attr:`ids` (after adding some by hand)."""
        self._next = max(self.ids.values(), default=0) + 1

    def take_added(self) -> list[tuple[int, str]]:
        added, self.added = self.added, []
        return added
