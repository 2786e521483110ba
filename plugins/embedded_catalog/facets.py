"""``GET /entity-facets``: value counts of search keys over the (filtered) catalog.

Counts are grouped in SQL over the search table (one row per entity and distinct value, so a
count is a number of entities), which also names the lowest ref having each value. The table
holds lower-cased values; Backstage answers with the value as written, so the sample entity of
each value is loaded and the original spelling read from it. Values that differ only in case are
therefore one facet value here, where Backstage would list each spelling.

Answers are cached per committed snapshot (:class:`FacetCache`): a UI asks for the same facets
over and over, and the answer can only change when a commit lands.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from openchoreo_sync.kit import CatalogReader

from .errors import SnapshotChurnError
from .flatten import original_case
from .params import Alternatives
from .serialize import CHUNK, dumps
from .view import ATTEMPTS


def entity_facets(store: CatalogReader, facets: Sequence[str], alternatives: Alternatives | None) -> bytes:
    groups = store.facet_counts([f.lower() for f in facets], alternatives)
    samples = sorted({sample for _key, _value, _count, sample in groups})
    bodies: dict[str, Any] = {}
    for start in range(0, len(samples), CHUNK):
        for ref, (body, _etag) in store.load_served(samples[start : start + CHUNK]).items():
            bodies[ref] = json.loads(body)
    by_key: dict[str, list[tuple[str, int]]] = {}
    for key, value, count, sample in groups:
        entity = bodies.get(sample)
        spelled = original_case(entity, key, value) if entity is not None else value
        by_key.setdefault(key, []).append((spelled, count))
    out: dict[str, list[dict[str, Any]]] = {}
    for facet in facets:
        values = sorted(by_key.get(facet.lower(), []))
        out[facet] = [{"value": value, "count": count} for value, count in values]
    return dumps({"facets": out})


class FacetCache:
    """The last ``size`` facet answers, keyed by snapshot version and query; thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._answers: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, store: CatalogReader, facets: Sequence[str], alternatives: Alternatives | None) -> bytes:
        """The cached answer for the current snapshot, else a fresh one (cached only if no commit
        landed while it was computed, so an entry always holds its own version's answer).

        Consistent by itself (a hit reads the version once; a miss is recomputed while commits
        land during it, as :func:`.view.consistent` does), so callers need no version check around it.
        """
        query = json.dumps([list(facets), alternatives])
        for _ in range(ATTEMPTS):
            version = store.snapshot_version()
            if version is None:
                return entity_facets(store, facets, alternatives)
            key = (version, query)
            with self._lock:
                cached = self._answers.get(key)
                if cached is not None:
                    self._answers.move_to_end(key)
                    return cached
            body = entity_facets(store, facets, alternatives)
            if store.snapshot_version() == version:
                with self._lock:
                    self._answers[key] = body
                    while len(self._answers) > self._size:
                        self._answers.popitem(last=False)
                return body
        raise SnapshotChurnError(f"the catalog snapshot changed during {ATTEMPTS} consecutive reads; retry the request")
