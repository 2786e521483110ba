"""Answers of the catalog page that depend only on the snapshot and the filter, kept per snapshot.

Matching refs and facet counts over a 10,000-entity catalog cost the store a second or more of
scans, and a person clicks through the same few filters again and again; a snapshot never changes
once committed, so an answer keyed by (snapshot version, filter, text) stays right until the next
commit, and is then simply never asked for again. The newest few answers are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

ENTRIES = 64


class SnapshotCache(Generic[V]):
    def __init__(self, entries: int = ENTRIES) -> None:
        self._entries = entries
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The kept answer for ``key`` (which must name the snapshot version), or ``compute()``."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._entries:
                self._values.popitem(last=False)
        return value

    def peek(self, key: Hashable) -> V | None:
        """The kept answer for ``key``, or None (nothing is computed)."""
        with self._lock:
            return self._values.get(key)

    def forget_other_versions(self, version: str | None) -> None:
        """Drop answers of older snapshots (after a commit) so they do not hold memory."""
        with self._lock:
            for key in [k for k in self._values if not (isinstance(k, tuple) and k and k[0] == version)]:
                del self._values[key]
