"""The staging worker of a first commit (``staging.FirstCommitStage``), a process of its own.

Reads JSON lines on stdin: first the store's ``search_keys`` (key -> id), then batches of
``[provisional id, entity without relations]``; writes each entity's own search rows
(``search.own_rows``, numbered as ``SqlStore`` numbers them) into table ``rows`` of the SQLite file
named on the command line, and at the end of its input prints the keys it numbered (JSON).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import types
from collections.abc import Iterable
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
from openchoreo_sync.store.search_table import NO_VALUE, KeyIds


def stage(path: Path, lines: Iterable[bytes]) -> dict[str, object]:
    source = iter(lines)
    keys = KeyIds(orjson.loads(next(source)).items())
    ids = keys.ids
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE rows (key_id INTEGER, value TEXT, entity_id INTEGER)")
        db.execute("BEGIN")
        cur = db.cursor()
        count = 0
        for line in source:
            rows: list[tuple[int, str, int]] = []
            for entity_id, entity in orjson.loads(line):
                for key, value in own_rows(entity):
                    key_id = ids.get(key)
                    if key_id is None:
                        key_id = keys.get(key)
                    rows.append((key_id, NO_VALUE if value is None else value, entity_id))
            insert_values(cur, "INSERT INTO rows (key_id, value, entity_id) VALUES ", 3, rows)
            count += len(rows)
        db.execute("COMMIT")
    finally:
        db.close()
    return {"added": keys.take_added(), "rows": count}


def main() -> int:
    report = stage(Path(sys.argv[1]), sys.stdin.buffer)
    sys.stdout.write(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
