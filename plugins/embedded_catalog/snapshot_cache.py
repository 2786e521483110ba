"""Per-snapshot memo of a query's ordered result set (refs or keyset positions), before paging.

A list page (``/entities?filter=...&limit=100``, ``by-query``) costs the match, the sort values
and the sort, then loads only its page's bodies. The first three depend on the filter, the order
and the snapshot alone, and a UI asks for the same filter page after page, so the ordered result
is kept per (snapshot version, query) for the last ``size`` queries; a page then costs the load
of its own bodies. An entry is stored only if no commit landed while it was computed (the same
rule as :class:`~.facets.FacetCache`), so an entry always holds its own version's answer, and a
new snapshot's version makes every older entry unreachable (they age out of the LRU).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from openchoreo_sync.kit import CatalogReader

T = TypeVar("T")


class SnapshotCache:
    """The last ``size`` results, keyed by snapshot version and a query key; thread-safe."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._results: OrderedDict[tuple[str, Hashable], object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: CatalogReader, query: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``'s result for the current snapshot, computed once per version and query.

        Callers must not mutate what they get: the same object is handed to every request.
        """
        version = store.snapshot_version()
        if version is None:
            return compute()
        key = (version, query)
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]  # type: ignore[return-value]
        result = compute()
        if store.snapshot_version() == version:
            with self._lock:
                self._results[key] = result
                while len(self._results) > self._size:
                    self._results.popitem(last=False)
        return result
