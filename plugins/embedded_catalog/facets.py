"""``GET /entity-facets``: value counts of search keys over the (filtered) catalog.

Counts are grouped in SQL over the search table (one row per entity and distinct value, so a
count is a number of entities), which also names the lowest ref having each value. The table
holds lower-cased values; Backstage answers with the value as written, so the sample entity of
each value is loaded and the original spelling read from it. Values that differ only in case are
therefore one facet value here, where Backstage would list each spelling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openchoreo_sync.store.base import StateStore

from .flatten import original_case
from .params import Alternatives
from .serialize import CHUNK, dumps


def entity_facets(store: StateStore, facets: Sequence[str], alternatives: Alternatives | None) -> bytes:
    groups = store.facet_counts([f.lower() for f in facets], alternatives)
    samples = sorted({sample for _key, _value, _count, sample in groups})
    bodies: dict[str, Any] = {}
    for start in range(0, len(samples), CHUNK):
        for ref, (body, _etag) in store.load_served(samples[start : start + CHUNK]).items():
            bodies[ref] = json.loads(body)
    by_key: dict[str, list[tuple[str, int]]] = {}
    for key, value, count, sample in groups:
        body = bodies.get(sample)
        spelled = original_case(body, key, value) if body is not None else value
        by_key.setdefault(key, []).append((spelled, count))
    out: dict[str, list[dict[str, Any]]] = {}
    for facet in facets:
        values = sorted(by_key.get(facet.lower(), []))
        out[facet] = [{"value": value, "count": count} for value, count in values]
    return dumps({"facets": out})
