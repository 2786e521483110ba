"""The catalog page's data: entities by kind and namespace, text search, Backstage-style facets.

Filters use the catalog's search rows (lower-cased, like Backstage's ``filter=`` parameter): values
of one facet are alternatives, different facets must all hold. Only one page of bodies is loaded,
so a 10,000-entity catalog costs an index read, one facet query and a hundred bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from openchoreo_sync.kit import CatalogReader
from openchoreo_sync.kit.catalog import Alternatives

from .cache import SnapshotCache
from .links import catalog_url, entity_url

FACETS: tuple[tuple[str, str], ...] = (
    ("kind", "Kind"),
    ("metadata.namespace", "Namespace"),
    ("spec.type", "Type"),
    ("spec.lifecycle", "Lifecycle"),
    ("spec.owner", "Owner"),
    ("metadata.tags", "Tag"),
)
FACET_KEYS = frozenset(key for key, _ in FACETS)
TEXT_KEYS = ["metadata.name", "metadata.title", "metadata.description"]
FACET_VALUES_SHOWN = 25
STALE_ANNOTATION = "openchoreo-sync.io/stale-since"
READ_ATTEMPTS = 4


@dataclass(frozen=True)
class CatalogQuery:
    filters: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""
    page: int = 1

    @classmethod
    def parse(cls, items: Iterable[tuple[str, str]]) -> CatalogQuery:
        """From the query string: ``kind=component&spec.lifecycle=production&q=web&page=2``."""
        filters: dict[str, list[str]] = {}
        text, page = "", 1
        for key, value in items:
            value = value.strip()
            if key == "q":
                text = value.lower()
            elif key == "page":
                page = int(value) if value.isdigit() and int(value) > 0 else 1
            elif key in FACET_KEYS and value:
                values = filters.setdefault(key, [])
                if value.lower() not in values:
                    values.append(value.lower())
        return cls(filters, text, page)

    def params(self, **override: Any) -> list[tuple[str, str]]:
        out = [(key, value) for key, values in sorted(self.filters.items()) for value in values]
        text = override.get("text", self.text)
        if text:
            out.append(("q", text))
        page = override.get("page", 1)
        if page > 1:
            out.append(("page", str(page)))
        return out

    def toggled(self, key: str, value: str) -> list[tuple[str, str]]:
        """The parameters with ``key=value`` switched on or off (back to page 1)."""
        filters = {k: list(v) for k, v in self.filters.items()}
        values = filters.setdefault(key, [])
        if value in values:
            values.remove(value)
        else:
            values.append(value)
        return CatalogQuery({k: v for k, v in filters.items() if v}, self.text).params()

    def alternatives(self, *, without: str | None = None) -> Alternatives | None:
        conditions: list[tuple[str, list[str] | None]] = [
            (key, list(values)) for key, values in sorted(self.filters.items()) if key != without
        ]
        return [conditions] if conditions else None


@dataclass
class FacetValue:
    value: str
    count: int
    selected: bool
    url: str


@dataclass
class Facet:
    key: str
    label: str
    values: list[FacetValue]
    more: int = 0


@dataclass
class Row:
    ref: str
    url: str
    kind: str
    namespace: str
    name: str
    title: str
    description: str
    owner: str
    type: str
    lifecycle: str
    stale: bool


@dataclass
class CatalogPage:
    version: str | None
    total: int
    rows: list[Row]
    facets: list[Facet]
    page: int
    pages: int
    previous_url: str | None
    next_url: str | None
    clear_url: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _row(base_path: str, ref: str, body: dict[str, Any]) -> Row:
    metadata = body.get("metadata") or {}
    spec = body.get("spec") or {}
    annotations = metadata.get("annotations") or {}
    return Row(
        ref=ref,
        url=entity_url(base_path, ref),
        kind=_text(body.get("kind")),
        namespace=_text(metadata.get("namespace")) or "default",
        name=_text(metadata.get("name")),
        title=_text(metadata.get("title")),
        description=_text(metadata.get("description")),
        owner=_text(spec.get("owner")),
        type=_text(spec.get("type")),
        lifecycle=_text(spec.get("lifecycle")),
        stale=STALE_ANNOTATION in annotations,
    )


def _matching_refs(catalog: CatalogReader, query: CatalogQuery) -> list[str]:
    alternatives = query.alternatives()
    if query.text:
        needle = query.text
        rows = catalog.search_values(TEXT_KEYS, alternatives)
        return sorted({ref for ref, _, value in rows if needle in ref or (value is not None and needle in value)})
    refs = catalog.match_refs(alternatives) if alternatives else None
    return sorted(refs if refs is not None else catalog.load_index())


def _facet_counts(
    catalog: CatalogReader, query: CatalogQuery, known: Callable[[CatalogQuery], FacetCounts | None]
) -> FacetCounts:
    """Counts under the filter; a filtered facet counts under the other filters only (Backstage's way).

    Facets ignore the text, so counts another cached query already holds (``known``) are reused:
    the unfiltered counts, warmed after each commit, answer a search and a first facet click.
    """
    if query.text and not query.filters and (same := known(CatalogQuery())) is not None:
        return same
    counts = catalog.facets([key for key, _ in FACETS], query.alternatives())
    for key in query.filters:
        others = known(CatalogQuery({k: v for k, v in query.filters.items() if k != key}))
        if others is not None and key in others:
            counts[key] = others[key]
        else:
            counts[key] = catalog.facets([key], query.alternatives(without=key)).get(key, [])
    return counts


def _facets(counts: FacetCounts, query: CatalogQuery, base_path: str) -> list[Facet]:
    facets = []
    for key, label in FACETS:
        selected = query.filters.get(key, [])
        values = sorted(counts.get(key, []), key=lambda item: (-item[1], item[0]))
        shown = values[:FACET_VALUES_SHOWN]
        shown += [(value, 0) for value in selected if value not in {v for v, _ in shown}]
        facets.append(
            Facet(
                key,
                label,
                [
                    FacetValue(value, count, value in selected, catalog_url(base_path, query.toggled(key, value)))
                    for value, count in shown
                ],
                more=max(0, len(values) - FACET_VALUES_SHOWN),
            )
        )
    return facets


FacetCounts = dict[str, list[tuple[str, int]]]


@dataclass(frozen=True)
class Matched:
    refs: list[str]
    counts: FacetCounts


def _match(
    catalog: CatalogReader, query: CatalogQuery, cache: SnapshotCache[Matched] | None = None, version: str | None = None
) -> Matched:
    def known(other: CatalogQuery) -> FacetCounts | None:
        kept = cache.peek(_cache_key(version, other)) if cache is not None else None
        return kept.counts if kept is not None else None

    return Matched(_matching_refs(catalog, query), _facet_counts(catalog, query, known))


def _cache_key(version: str | None, query: CatalogQuery) -> tuple[object, ...]:
    filters = tuple((key, tuple(sorted(values))) for key, values in sorted(query.filters.items()))
    return (version, filters, query.text)


def warm(catalog: CatalogReader, cache: SnapshotCache[Matched]) -> None:
    """Compute the unfiltered page's answer for the committed snapshot before anyone asks."""
    version = catalog.snapshot_version()
    cache.forget_other_versions(version)
    query = CatalogQuery()
    cache.get(_cache_key(version, query), lambda: _match(catalog, query))


def catalog_page(
    catalog: CatalogReader,
    query: CatalogQuery,
    *,
    base_path: str,
    page_size: int,
    cache: SnapshotCache[Matched] | None = None,
) -> CatalogPage:
    """One page of the catalog, all of it read from one committed snapshot."""
    for _ in range(READ_ATTEMPTS):
        version = catalog.snapshot_version()
        if cache is not None:
            matched = cache.get(_cache_key(version, query), partial(_match, catalog, query, cache, version))
        else:
            matched = _match(catalog, query)
        refs = matched.refs
        pages = max(1, -(-len(refs) // page_size))
        page = min(query.page, pages)
        shown = refs[(page - 1) * page_size : page * page_size]
        bodies = catalog.load_bodies(shown)
        facets = _facets(matched.counts, query, base_path)
        if catalog.snapshot_version() == version:
            break
    return CatalogPage(
        version=version,
        total=len(refs),
        rows=[_row(base_path, ref, bodies[ref]) for ref in shown if ref in bodies],
        facets=facets,
        page=page,
        pages=pages,
        previous_url=catalog_url(base_path, query.params(page=page - 1)) if page > 1 else None,
        next_url=catalog_url(base_path, query.params(page=page + 1)) if page < pages else None,
        clear_url=base_path,
    )
