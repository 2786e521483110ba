"""Multi-row ``INSERT ... VALUES`` for SQLite: the store's bulk path and the staging worker's.

A module of its own with no imports from the package, so that ``stage_worker`` can use it
without importing the daemon.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

_MAX_VARIABLES = 999
"""Parameters per statement: SQLite's lowest ``SQLITE_MAX_VARIABLE_NUMBER`` (before 3.32)."""


def insert_values(cur: Any, head: str, width: int, rows: list[tuple[Any, ...]], tail: str = "") -> None:
    """Insert ``rows`` with as many rows per ``INSERT ... VALUES (...), (...)`` as the parameter
    limit allows, instead of ``executemany``'s one statement per row.

    ``executemany`` steps the statement once per row, and each step takes the GIL back and forth
    and resets the statement: at a first commit's 526,735 search rows that was 0.65 s of CPU;
    333 rows per statement bind the same values and cost 0.16 s. Rows go in the same order, each
    as it would alone (an upsert's ``ON CONFLICT`` applies row by row), so the result is the same.
    """
    per = max(1, _MAX_VARIABLES // width)
    one = "(" + ",".join("?" * width) + ")"
    full = head + ",".join([one] * per) + tail
    whole = len(rows) - len(rows) % per
    for start in range(0, whole, per):
        cur.execute(full, list(chain.from_iterable(rows[start : start + per])))
    if whole < len(rows):
        rest = rows[whole:]
        cur.execute(head + ",".join([one] * len(rest)) + tail, list(chain.from_iterable(rest)))
