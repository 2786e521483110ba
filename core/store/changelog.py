"""The change feed: which refs each commit wrote or removed, numbered by a sequence.

A pulling consumer (the Backstage entity provider in ``backstage-module/``) remembers the last
sequence it applied and asks for what came after it. The sequence and the change rows are written
inside the commit's own transaction, so a reader that sees a snapshot sees exactly the changes that
led to it, on SQLite and PostgreSQL alike, and a consumer that reconnects after a daemon restart
gets what it missed.

The log is a window, not a history: it keeps the last :data:`CHANGE_WINDOW` rows. A commit that
touches more than :data:`COMMIT_ROW_LIMIT` refs (a first sync, a mass change) is recorded as a
reset instead of row by row: it moves the *floor*, and a consumer whose position is below the floor
is told to read the whole snapshot again. That keeps a 50k-entity first commit from writing 50k
change rows that nobody could use better than a full read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..model import EntityRef

CHANGE_WINDOW = 20_000
"""Change rows kept; older commits are pruned whole and raise the floor."""

COMMIT_ROW_LIMIT = 5_000
"""A commit touching more refs than this is a reset (floor moves) rather than rows."""

UPSERT = "upsert"
DELETE = "delete"

MIGRATION = [
    """CREATE TABLE IF NOT EXISTS changes (
        seq BIGINT NOT NULL, ref TEXT NOT NULL, op TEXT NOT NULL, PRIMARY KEY (seq, ref))""",
]
"""Schema step of the change log (its own table; the position lives in ``meta``)."""

SEQ_KEY = "change_seq"
FLOOR_KEY = "change_floor"


@dataclass(frozen=True, slots=True)
class ChangePosition:
    """Where the log stands: ``head`` is the newest sequence, ``floor`` the oldest position it can
    still answer from (a consumer at ``floor <= since <= head`` gets every change after ``since``)."""

    head: int
    floor: int


@dataclass(slots=True)
class ChangeBatch:
    """The changes after a position, whole commits only, latest operation per ref."""

    position: ChangePosition
    resync: bool
    """True when ``since`` is outside the window: read the whole snapshot instead."""
    until: int
    """The sequence this batch brings a consumer to (``since`` when there is nothing new)."""
    ops: dict[EntityRef, str] = field(default_factory=dict)
    more: bool = False
    """More commits follow ``until``: ask again at once."""


Sql = Callable[[str], str]
"""Rewrites ``?`` placeholders into the backend's style."""
Query = Callable[[str, Iterable[Any]], list[Any]]
"""Runs one read statement and returns its rows."""


def _set(cur: Any, sql: Sql, key: str, value: int) -> None:
    cur.execute(
        sql("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
        (key, str(value)),
    )


def _position(rows: Iterable[Any]) -> ChangePosition:
    values = {key: int(value) for key, value in rows}
    return ChangePosition(values.get(SEQ_KEY, 0), values.get(FLOOR_KEY, 0))


def record(cur: Any, sql: Sql, written: list[EntityRef], overflow: bool, removed: list[EntityRef]) -> None:
    """Append one commit to the log, inside that commit's transaction; nothing for an empty commit.

    ``overflow`` says the commit wrote more refs than ``written`` holds (it stops collecting past
    :data:`COMMIT_ROW_LIMIT`).
    """
    if not written and not removed and not overflow:
        return
    cur.execute(sql("SELECT key, value FROM meta WHERE key IN (?, ?)"), (SEQ_KEY, FLOOR_KEY))
    position = _position(cur.fetchall())
    seq = position.head + 1
    _set(cur, sql, SEQ_KEY, seq)
    if overflow or len(written) + len(removed) > COMMIT_ROW_LIMIT:
        cur.execute("DELETE FROM changes")
        _set(cur, sql, FLOOR_KEY, seq)
        return
    ops = {ref: DELETE for ref in removed} | dict.fromkeys(written, UPSERT)
    cur.executemany(sql("INSERT INTO changes (seq, ref, op) VALUES (?, ?, ?)"), [(seq, r, op) for r, op in ops.items()])
    cur.execute(sql("SELECT seq FROM changes ORDER BY seq DESC LIMIT 1 OFFSET ?"), (CHANGE_WINDOW,))
    row = cur.fetchone()
    if row is not None:  # the window is full: drop the oldest whole commits
        cutoff = int(row[0])
        cur.execute(sql("DELETE FROM changes WHERE seq <= ?"), (cutoff,))
        _set(cur, sql, FLOOR_KEY, max(cutoff, position.floor))


def position(query: Query) -> ChangePosition:
    return _position(query("SELECT key, value FROM meta WHERE key IN (?, ?)", (SEQ_KEY, FLOOR_KEY)))


def since(query: Query, after: int, limit: int) -> ChangeBatch:
    """Whole commits after sequence ``after`` until about ``limit`` rows (always at least one commit).

    An ``after`` above the head (the store was replaced) or below the floor (pruned, or a reset
    commit came later) answers ``resync``. Callers wanting one snapshot wrap this (and the body
    reads that follow) in a consistent read.
    """
    now = position(query)
    if after < now.floor or after > now.head:
        return ChangeBatch(now, resync=True, until=now.head)
    if after == now.head:
        return ChangeBatch(now, resync=False, until=after)
    counts = query(
        "SELECT seq, COUNT(*) FROM changes WHERE seq > ? AND seq <= ? GROUP BY seq ORDER BY seq", (after, now.head)
    )
    if not counts:  # nothing recorded after ``after`` (only reachable above the floor if rows were lost)
        return ChangeBatch(now, resync=True, until=now.head)
    until, total = after, 0
    for seq, count in counts:
        if total and total + int(count) > limit:
            break
        until, total = int(seq), total + int(count)
    rows = query("SELECT seq, ref, op FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq", (after, until))
    ops: dict[EntityRef, str] = {}
    for _seq, ref, op in rows:  # later commits win
        ops[ref] = op
    return ChangeBatch(now, resync=False, until=until, ops=ops, more=until < now.head)
