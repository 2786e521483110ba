"""The entity page's data: its fields, annotations, relations, origin and sync state, and its graph."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from openchoreo_sync.kit import CatalogReader, SyncStatusReader

from .catalog_view import STALE_ANNOTATION
from .graph import Graph, neighbourhood
from .links import entity_url


@dataclass
class RelationRow:
    type: str
    target: str
    url: str


@dataclass
class EntityPage:
    ref: str
    body: dict[str, Any]
    kind: str
    name: str
    namespace: str
    title: str
    description: str
    fields: list[tuple[str, str]]
    """``spec`` flattened into (dotted path, value) rows"""
    annotations: list[tuple[str, str]]
    labels: list[tuple[str, str]]
    tags: list[str]
    links: list[tuple[str, str]]
    relations: list[RelationRow]
    graph: Graph
    depth: int
    collection: str | None
    family: str | None
    source: str | None
    stale_since: str | None
    pending_misses: int | None
    raw: str


def _flatten(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, str]] = []
        for key in sorted(value):
            out.extend(_flatten(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, str):
        return [(path, value)]
    return [(path, json.dumps(value, ensure_ascii=False))]


def _pairs(value: Any) -> list[tuple[str, str]]:
    return sorted((str(k), str(v)) for k, v in value.items()) if isinstance(value, dict) else []


def entity_page(
    catalog: CatalogReader,
    status: SyncStatusReader | None,
    ref: str,
    *,
    depth: int,
    max_nodes: int,
    base_path: str,
) -> EntityPage | None:
    body = catalog.load_bodies([ref]).get(ref)
    if body is None:
        return None
    metadata = body.get("metadata") or {}
    entry = catalog.index_entries([ref]).get(ref)
    pending = status.pending_removals().get(ref) if status is not None else None
    relations = [
        RelationRow(str(r.get("type")), str(r.get("targetRef")), entity_url(base_path, str(r.get("targetRef"))))
        for r in body.get("relations") or []
        if isinstance(r, dict) and r.get("targetRef")
    ]
    graph = neighbourhood(ref, body, catalog.load_bodies, depth=depth, max_nodes=max_nodes, base_path=base_path)
    links = [
        (str(link.get("title") or link.get("url")), str(link.get("url")))
        for link in metadata.get("links") or []
        if isinstance(link, dict) and str(link.get("url", "")).startswith(("http://", "https://"))
    ]
    return EntityPage(
        ref=ref,
        body=body,
        kind=str(body.get("kind", "")),
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace") or "default"),
        title=str(metadata.get("title") or metadata.get("name", "")),
        description=str(metadata.get("description") or ""),
        fields=_flatten(body.get("spec") or {}),
        annotations=_pairs(metadata.get("annotations")),
        labels=_pairs(metadata.get("labels")),
        tags=[str(t) for t in metadata.get("tags") or []],
        links=links,
        relations=sorted(relations, key=lambda r: (r.type, r.target)),
        graph=graph,
        depth=depth,
        collection=entry.collection if entry else None,
        family=entry.family if entry else None,
        source=entry.source if entry else None,
        stale_since=(metadata.get("annotations") or {}).get(STALE_ANNOTATION),
        pending_misses=pending,
        raw=json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False),
    )
