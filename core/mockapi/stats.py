"""Request log of the mock: per-path counters, auth headers seen, issued cursors.

Tests assert on these (minimum request counts, that a token was sent); the cursor ledger
lets faults target "the Nth page of a walk" and expire cursors by age in requests.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request as the mock saw it."""

    seq: int
    method: str
    path: str
    query: str
    authorization: str | None
    status: int | None = None


class Stats:
    """Thread-safe counters; ``count(path)`` is the number of requests to a path."""

    def __init__(self, max_cursors: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._max_cursors = max_cursors
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_path: Counter[str] = Counter()
            self.records: list[RequestRecord] = []
            self.auth_headers: list[str | None] = []
            self._cursors: dict[str, tuple[int, int]] = {}

    def record(self, method: str, path: str, query: str, authorization: str | None) -> int:
        """Log a request; returns its sequence number (1-based)."""
        with self._lock:
            self.total += 1
            self.by_path[path] += 1
            self.auth_headers.append(authorization)
            self.records.append(RequestRecord(self.total, method, path, query, authorization))
            return self.total

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return self.total if path is None else self.by_path[path]

    def remember_cursor(self, cursor: str, seq: int, page: int) -> None:
        """Note that ``cursor`` was issued by request ``seq`` as the link to page ``page``."""
        with self._lock:
            if len(self._cursors) >= self._max_cursors:
                self._cursors.pop(next(iter(self._cursors)))
            self._cursors[cursor] = (seq, page)

    def cursor_info(self, cursor: str) -> tuple[int, int] | None:
        """(issuing request seq, page number) of a cursor this mock issued."""
        with self._lock:
            return self._cursors.get(cursor)

    def snapshot(self) -> dict[str, object]:
        """JSON-friendly view for ``GET /_mock/stats``."""
        with self._lock:
            return {
                "total": self.total,
                "by_path": dict(self.by_path),
                "auth_headers": list(self.auth_headers),
            }
