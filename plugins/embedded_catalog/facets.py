"""``GET /entity-facets``: value counts of search keys over the (filtered) catalog.

Counts come from the search table (one row per entity and distinct value, so a count is a number
of entities). The table holds lower-cased values; Backstage answers with the value as written, so
for each value one sample entity is loaded and the original spelling read from it. Values that
differ only in case are therefore one facet value here, where Backstage would list each spelling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openchoreo_sync.kit import CatalogReader

from .flatten import original_case
from .params import Alternatives
from .serialize import CHUNK, dumps


def entity_facets(store: CatalogReader, facets: Sequence[str], alternatives: Alternatives | None) -> bytes:
    counts: dict[tuple[str, str], int] = {}
    sample: dict[tuple[str, str], str] = {}
    for ref, key, value in store.search_values([f.lower() for f in facets], alternatives):
        if value is None:
            continue
        group = (key, value)
        counts[group] = counts.get(group, 0) + 1
        if group not in sample or ref < sample[group]:
            sample[group] = ref
    spelled: dict[tuple[str, str], str] = {}
    groups = list(sample)
    for start in range(0, len(groups), CHUNK):
        chunk = groups[start : start + CHUNK]
        bodies = store.load_bodies({sample[g] for g in chunk})
        for group in chunk:
            body = bodies.get(sample[group])
            spelled[group] = original_case(body, *group) if body is not None else group[1]
    out: dict[str, list[dict[str, Any]]] = {}
    for facet in facets:
        key = facet.lower()
        values = sorted((spelled[g], n) for g, n in counts.items() if g[0] == key)
        out[facet] = [{"value": value, "count": count} for value, count in values]
    return dumps({"facets": out})
