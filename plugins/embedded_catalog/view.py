"""Read the committed snapshot consistently, without loading more than a request needs.

The engine commits a whole run in one transaction, but a request makes several queries (match,
sort values, bodies in chunks). Each query sees *a* committed snapshot; to be sure they all saw
*the same* one we read ``snapshot_version()`` before and after and recompute if it moved. Run ids
are unique per commit, so an unchanged version means no commit landed in between. This works the
same on SQLite (WAL) and PostgreSQL (READ COMMITTED) without holding a transaction open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from openchoreo_sync.kit import CatalogReader

from .errors import SnapshotChurnError
from .params import Alternatives

T = TypeVar("T")

ATTEMPTS = 8


def consistent(store: CatalogReader, compute: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """``compute()`` retried until the snapshot version is the same before and after it."""
    for _ in range(attempts):
        before = store.snapshot_version()
        result = compute()
        if store.snapshot_version() == before:
            return result
    raise SnapshotChurnError(f"the catalog snapshot changed during {attempts} consecutive reads; retry the request")


def matched_refs(store: CatalogReader, alternatives: Alternatives | None) -> list[str]:
    """Refs matching the filter (all refs when there is none), sorted ascending: the default order."""
    refs = store.match_refs(alternatives) if alternatives else None
    if refs is None:
        refs = list(store.load_index())
    return sorted(refs)


def values_by_ref(
    store: CatalogReader, keys: list[str], alternatives: Alternatives | None
) -> dict[str, dict[str, list[str | None]]]:
    """key -> ref -> the entity's search values under that key (several for arrays)."""
    out: dict[str, dict[str, list[str | None]]] = {key: {} for key in keys}
    for ref, key, value in store.search_values(keys, alternatives):
        out.setdefault(key, {}).setdefault(ref, []).append(value)
    return out
