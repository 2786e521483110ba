"""URLs of the pages: one place builds them, so every node, row and relation links the same way."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from openchoreo_sync.kit import parse_ref


def entity_url(base_path: str, ref: str) -> str:
    kind, namespace, name = (quote(part, safe="") for part in parse_ref(ref))
    return f"{base_path}/entity/{kind.lower()}/{namespace.lower()}/{name}"


def catalog_url(base_path: str, params: list[tuple[str, str]]) -> str:
    return f"{base_path}?{urlencode(params)}" if params else base_path
