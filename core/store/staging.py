"""A first commit's search rows, made while the run is still fetching, in a process of its own.

A first sync into an empty SQLite store spends most of its commit on the search rows: ~36 per
entity (527k at 10k components), flattened in Python and staged in a temporary table before their
sorted copy into the clustered search table. The fetch before it keeps the main process busy too
(mapping, decoding pages), so moving that work into the fetch on the same GIL gains little; on a
second core it is free. :class:`FirstCommitStage` starts ``stage_worker`` when the run starts,
sends it each collection's entities as they are mapped (JSON lines) and the worker flattens them
(``search.own_rows``: everything but the relations, which are known only after the relate step)
into a scratch SQLite file. The commit attaches that file and copies the rows with the rest.

Once its input ends the worker also makes a presorted copy of its rows, while the run relates
and the commit serialises: each entity under the id the commit gives it when it writes exactly
the staged entities (from the store's next id, in ref order), in a table defined as the search
table, in its key order. Such a commit (a first sync's usual case) transfers that copy into its
empty search table as it is (no sort, no renumbering join) and sorts only the relation rows; any
other commit, or one that does not find the copy complete within :data:`PRESORT_WAIT` (the worker
writes one byte to a pipe when it is), sorts the staged rows itself as before.

What the commit writes stays exactly what it would write without the stage:

* An entity is staged under a provisional id with a digest of its content without relations;
  the commit uses its staged rows only when the entity it writes still has that digest (a relate
  hook may change the entities it owns) and adds the relation rows itself; any other entity gets
  all its rows at commit as before. Staged rows of entities the run does not write (dropped,
  yielded to a newer delta) are never copied: the copy joins on the ids the commit wrote.
* The worker numbers new search keys from the ``search_keys`` the store had when the run started;
  the commit uses its numbering only if that table is still the same, else ignores the stage.
* Only an entity made of exact dicts, lists, strings, ints, bools and None is staged (its JSON
  round trip is then exact, so the worker's rows are the ones ``search_rows`` gives), and only if
  no own key can collide with a relation row (``search.own_keys_apart``).
* The stage is one more input to the single commit transaction, which alone writes the state file;
  a failed worker, a run that does not commit, or a crash leave nothing but a scratch directory
  beside the state file (``scratch``: the next stage removes a killed process's). Any failure of
  the stage disables it for the run: the commit then does all the work itself, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import select
import sys
import weakref
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ..logs import get_logger
from ..model import Entity, EntityRef
from ..search import own_keys_apart
from .scratch import make_scratch_dir, remove_scratch_dir
from .search_table import KeyIds

log = get_logger("openchoreo_sync.store")

_SORTED = orjson.OPT_SORT_KEYS
WORKER = Path(__file__).with_name("stage_worker.py")
"""Run by path, not ``-m``: see ``stage_worker``."""


def own_content(entity: Entity) -> bytes | None:
    """JSON of the entity without ``relations`` (sorted keys), or None when it is not staged.

    Not checked for plain data (``serialization.plain_data``): an entity that is not gets a
    digest too, but :meth:`StagedRows.staged_id` never matches it (``EntityWrite.plain``).
    """
    if type(entity) is not dict or not own_keys_apart(entity):
        return None
    try:
        return orjson.dumps({key: value for key, value in entity.items() if key != "relations"}, option=_SORTED)
    except TypeError:  # a non-text key, an int beyond 64 bits, a lone surrogate, a dataclass
        return None


PRESORT_WAIT = 10.0
"""Seconds the commit waits for the worker's presorted copy before sorting the rows itself.
Whatever is left of that copy when the commit gets there is no more work than the commit's
own sort would be, so waiting costs only while the worker is stalled (a failed worker ends the
wait at once)."""

DIGEST_SIZE = 16
LINE_ENTITIES = 200
"""Entities per line to the worker (~330 KB of JSON at 1.6 KB each)."""


def _close_quietly(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


def _digest(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=DIGEST_SIZE).digest()


@dataclass
class StagedRows:
    """What the worker staged, as the commit uses it (see the module docstring)."""

    path: Path
    """the scratch SQLite file: table ``rows (key_id, value, entity_id)``, provisional ids"""
    base_keys: dict[str, int]
    """``search_keys`` as the worker started from"""
    added_keys: list[tuple[int, str]]
    """keys the worker numbered"""
    next_id: int
    """the first provisional id not given to a staged entity"""
    entries: dict[EntityRef, int] = field(default_factory=dict)
    """ref -> provisional id (from 1)"""
    digests: bytearray = field(default_factory=bytearray)
    """the digest of the content each provisional id was staged with, :data:`DIGEST_SIZE` bytes
    each in id order (one buffer: ~1 MB at 50k components, where a bytes object per entity
    would be ~4 MB more)"""
    taken: int = 0
    """entities whose staged rows the commit used"""
    first_id: int = 0
    """the entity id the presorted copy numbers from (the store's next entity id at the start)"""
    sorted_path: Path | None = None
    """the presorted copy: table ``search`` as the store defines it, the ids the commit gives"""
    presorted_taken: bool = False
    """whether the commit found the presorted copy complete and usable"""
    done_fd: int | None = None
    """the read end of the pipe the worker writes one byte to once the presorted copy is complete;
    this object's own, closed once read or when it is collected, never by the stage: a discard
    while a cancelled run's commit still runs (``asyncio.shield``) cannot close it under the
    commit, nor let the commit read a descriptor number given to another file meanwhile"""
    _close_done: Callable[[], object] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.done_fd is not None:
            self._close_done = weakref.finalize(self, _close_quietly, self.done_fd)

    def usable(self, keys: KeyIds) -> bool:
        """True when the commit's key numbering is the one the worker started from."""
        return keys.ids == self.base_keys

    def adopt_keys(self, keys: KeyIds) -> None:
        for key_id, key in self.added_keys:
            keys.ids[key] = key_id
            keys.added.append((key_id, key))
        keys.bump()

    def staged_id(self, ref: EntityRef, entity: Entity, plain: bool) -> int | None:
        """The provisional id whose staged rows are this entity's own rows, or None.

        ``plain``: the entity is plain data (``EntityWrite.plain``, found while serialising it),
        so its JSON round trip, which the worker flattened, gives the same rows."""
        staged_id = self.entries.get(ref)
        if staged_id is None or not plain:
            return None
        content = own_content(entity)
        start = (staged_id - 1) * DIGEST_SIZE
        if content is None or _digest(content) != self.digests[start : start + DIGEST_SIZE]:
            return None
        self.taken += 1
        return staged_id

    def presorted(self, first_id: int, written: int) -> Path | None:
        """The presorted copy, when it holds exactly the rows the commit's sorted copy would
        take from the stage: the commit wrote ``written`` entities, all of them staged and each
        still as staged (so the entities it numbers in ref order are the worker's, and there
        are no rows of unstaged entities), from the same first id; and the worker completed it
        within :data:`PRESORT_WAIT` seconds. None otherwise: the commit then sorts the staged
        rows itself."""
        if self.sorted_path is None or self.done_fd is None or first_id != self.first_id:
            return None
        if not written == self.taken == len(self.entries):
            return None
        try:
            poller = select.poll()  # not select.select: a daemon's descriptors may be above FD_SETSIZE
            poller.register(self.done_fd, select.POLLIN)
            if not poller.poll(PRESORT_WAIT * 1000):
                log.debug("presorted search rows not ready; the commit sorts them", waited_seconds=PRESORT_WAIT)
                return None
            done = os.read(self.done_fd, 1) == b"1"
        except OSError:
            done = False
        finally:
            if self._close_done is not None:
                self._close_done()  # once: a second call does nothing
        if not done:
            log.debug("the staging worker stopped before its presorted copy; the commit sorts the rows")
        self.presorted_taken = done
        return self.sorted_path if done else None


class FirstCommitStage:
    """The main process's side: the worker, the provisional ids and digests (see module docstring)."""

    def __init__(self, keys: dict[str, int], first_id: int, directory: Path) -> None:
        """``directory``: where the scratch directory goes (beside the state file: ``scratch``);
        raises OSError when it cannot be made there."""
        self._keys = keys
        self._first_id = first_id
        self._dir = make_scratch_dir(directory)
        self.path = self._dir / "stage.sqlite3"
        self.sorted_path = self._dir / "sorted.sqlite3"
        self._done_fd: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._entries: dict[EntityRef, int] = {}
        self._digests = bytearray()
        self._next = 1
        self._failed = False
        self._closed_input = False

    async def start(self) -> None:
        try:
            self._done_fd, done_w = os.pipe()
        except OSError as exc:
            self._fail(f"cannot start the staging worker: {exc}")
            return
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                str(self.path),
                str(self.sorted_path),
                str(done_w),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                pass_fds=(done_w,),
            )
        except (OSError, ValueError) as exc:
            self._fail(f"cannot start the staging worker: {exc}")
        finally:
            os.close(done_w)  # the worker's alone: its end closes when it exits
        await self._write(orjson.dumps([self._keys, self._first_id]) + b"\n")

    def _fail(self, why: str) -> None:
        if not self._failed:
            log.debug("first-commit stage disabled; the commit does all its work", reason=why)
        self._failed = True

    async def _write(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or self._failed:
            return
        try:
            proc.stdin.write(data)
            await proc.stdin.drain()  # back-pressure: never more than a pipe's worth held here
        except (OSError, RuntimeError) as exc:  # the worker is gone (BrokenPipe, ConnectionReset)
            self._fail(f"the staging worker stopped reading: {exc}")

    async def add(self, items: list[tuple[EntityRef, Entity]]) -> None:
        """Stage these freshly mapped entities (JSON lines of ``[[id, entity], ...]``, at most
        :data:`LINE_ENTITIES` to a line: a big collection's text is never held all at once)."""
        if self._failed or self._closed_input:
            return
        parts: list[bytes] = []
        entries = self._entries
        for ref, entity in items:
            content = own_content(entity)
            if content is None or ref in entries:
                continue
            entries[ref] = self._next
            self._digests += _digest(content)
            parts.append(b"[%d,%s,%s]" % (self._next, orjson.dumps(ref), content))
            self._next += 1
            if len(parts) == LINE_ENTITIES:
                await self._write(b"[" + b",".join(parts) + b"]\n")
                parts = []
        if parts:
            await self._write(b"[" + b",".join(parts) + b"]\n")

    async def close_input(self) -> None:
        """Nothing more to stage: the worker finishes its file (while the run relates)."""
        if self._closed_input:
            return
        self._closed_input = True
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            with suppress(OSError, RuntimeError):
                proc.stdin.close()

    async def finish(self) -> StagedRows | None:
        """What was staged, once the worker has committed its rows (its report); None when the
        stage failed. The worker goes on with the presorted copy meanwhile."""
        await self.close_input()
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        try:
            out = await proc.stdout.read()  # to the end: the worker closes its output after the report
        except (OSError, RuntimeError) as exc:
            self._fail(f"the staging worker failed: {exc}")
            return None
        if self._failed:
            return None
        try:
            report = json.loads(out)
            added = [(int(key_id), str(key)) for key_id, key in report["added"]]
        except (ValueError, KeyError, TypeError) as exc:
            self._fail(f"unreadable report from the staging worker: {exc}")
            return None
        staged = StagedRows(
            self.path,
            self._keys,
            added,
            self._next,
            self._entries,
            self._digests,
            first_id=self._first_id,
            sorted_path=self.sorted_path,
            done_fd=self._done_fd,
        )
        self._done_fd = None  # the staged rows' own now (``StagedRows.done_fd``)
        self._entries, self._digests = {}, bytearray()  # the commit's now: gone with it, not after emit
        return staged

    async def discard(self) -> None:
        """Stop the worker if still running and remove the scratch file (before waiting for the
        worker: a run cancelled again while it waits still leaves no file behind)."""
        await self.close_input()
        self._entries, self._digests = {}, bytearray()
        remove_scratch_dir(self._dir)
        if self._done_fd is not None:  # not handed to the staged rows (``finish``)
            done_fd, self._done_fd = self._done_fd, None
            _close_quietly(done_fd)
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with suppress(ProcessLookupError):
                proc.kill()
            with suppress(OSError, RuntimeError):
                await proc.wait()
