"""The staging worker of a first commit (``staging.FirstCommitStage``), a process of its own.

Arguments: the scratch SQLite file, the file of the presorted copy, a pipe's write end. Reads
JSON lines on stdin: first ``[search_keys (key -> id), first entity id]``, then batches of
``[provisional id, ref, entity without relations]``; writes each entity's own search rows
(``search.own_rows``, numbered as ``SqlStore`` numbers them) into table ``rows`` of the scratch
file and its ref into ``refs``. At the end of its input it commits them and prints the keys it
numbered (JSON, one line): the commit may use the file from then on. Then it makes the presorted
copy: the same rows with the ids the commit gives when it writes exactly the staged entities
(from the first id on, in ref order: ``SqliteStore._bulk_load_end``), in a table defined as the
search table, filled in its key order; and writes one byte to the pipe once that file is complete.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import types
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

import orjson

if __name__ == "__main__" and not __package__:
    # Run by path (``staging`` starts it so): the package's ``__init__`` imports the whole daemon,
    # ~0.65 s of CPU per start; the worker needs three small modules, imported under empty
    # stand-ins for the two packages.
    _core = Path(__file__).resolve().parent.parent
    for _name, _where in (("openchoreo_sync", _core), ("openchoreo_sync.store", _core / "store")):
        _package = types.ModuleType(_name)
        _package.__path__ = [str(_where)]
        sys.modules[_name] = _package

from openchoreo_sync.search import own_rows
from openchoreo_sync.store.multirow import insert_values
from openchoreo_sync.store.search_table import ID_MAP_TABLE, NO_VALUE, SQLITE_SEARCH_TABLE, KeyIds, ref_order_id_map


def stage(path: Path, lines: Iterable[bytes]) -> tuple[dict[str, object], int]:
    """Stage the rows; returns the report (the keys numbered) and the first entity id."""
    source = iter(lines)
    base, first_id = orjson.loads(next(source))
    keys = KeyIds(base.items())
    ids = keys.ids
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE rows (key_id INTEGER, value TEXT, entity_id INTEGER)")
        db.execute("CREATE TABLE refs (id INTEGER PRIMARY KEY, ref TEXT NOT NULL)")
        db.execute("BEGIN")
        cur = db.cursor()
        count = 0
        for line in source:
            rows: list[tuple[int, str, int]] = []
            refs: list[tuple[int, str]] = []
            for entity_id, ref, entity in orjson.loads(line):
                refs.append((entity_id, ref))
                for key, value in own_rows(entity):
                    key_id = ids.get(key)
                    if key_id is None:
                        key_id = keys.get(key)
                    rows.append((key_id, NO_VALUE if value is None else value, entity_id))
            insert_values(cur, "INSERT INTO rows (key_id, value, entity_id) VALUES ", 3, rows)
            cur.executemany("INSERT INTO refs (id, ref) VALUES (?, ?)", refs)
            count += len(rows)
        db.execute("COMMIT")
    finally:
        db.close()
    return {"added": keys.take_added(), "rows": count}, int(first_id)


def presort(path: Path, sorted_path: Path, first_id: int) -> None:
    """The staged rows renumbered as the commit numbers the entities it writes, in the search
    table's order (the commit's copy is then a transfer into its empty table: no sort, no join)."""
    db = sqlite3.connect(sorted_path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA temp.secure_delete = OFF")
        db.execute("ATTACH DATABASE ? AS stage", (str(path),))
        db.execute("BEGIN")
        db.execute(SQLITE_SEARCH_TABLE)
        db.execute(ID_MAP_TABLE)
        db.execute(ref_order_id_map("stage.refs"), (first_id,))  # the commit's own numbering
        db.execute(
            "INSERT INTO main.search (key_id, value, entity_id) SELECT s.key_id, s.value, m.new "
            "FROM stage.rows AS s JOIN temp.id_map AS m ON m.old = s.entity_id ORDER BY 1, 2, 3"
        )
        db.execute("COMMIT")
    finally:
        db.close()


def main() -> int:
    path, sorted_path, done = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    report, first_id = stage(path, sys.stdin.buffer)
    with open(sys.stdout.fileno(), "wb") as out:  # closed: the stage reads its report to the end
        out.write(json.dumps(report).encode())
    presort(path, sorted_path, first_id)
    with suppress(BrokenPipeError):  # the commit stopped waiting for it and sorts the rows itself
        os.write(done, b"1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
