"""Single-entity and batch lookups: ``by-name``, ``by-uid`` and ``POST by-refs``.

Refs compare case-insensitively, as in Backstage (it lower-cases whole refs). Stored refs keep the
name's case, so a ref that is not found as written is looked up again by kind, namespace and
lower-cased name (an index of the entities table). Only the entities asked for are ever loaded,
and served from their stored JSON text (see ``serialize``).
"""

from __future__ import annotations

from collections.abc import Sequence

from openchoreo_sync import parse_ref
from openchoreo_sync.kit import CatalogReader

from .errors import NotFoundError
from .identity import uid_for
from .params import Alternatives
from .serialize import CHUNK, stored_json

StoredRow = tuple[str, str, str | None]
"""(stored ref, JSON text, precomputed etag or None)."""


def _split(ref: str) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of a full ``kind:namespace/name`` ref, or None if it is not one."""
    kind, colon, rest = ref.partition(":")
    if not colon or "/" not in rest or not kind:
        return None
    try:
        kind, namespace, name = parse_ref(ref)
    except ValueError:
        return None
    return str(kind), str(namespace), str(name)


def load_by_refs(store: CatalogReader, requested: Sequence[str]) -> dict[str, StoredRow]:
    """Requested ref (lower-cased) -> its stored row, for the requested refs that exist."""
    wanted = list(dict.fromkeys(ref.lower() for ref in requested))
    probe = list(dict.fromkeys([*requested, *wanted]))
    found: dict[str, StoredRow] = {}
    for start in range(0, len(probe), CHUNK):
        for ref, (body, etag) in store.load_served(probe[start : start + CHUNK]).items():
            found.setdefault(ref.lower(), (ref, body, etag))
    for ref in wanted:
        if ref not in found and (parts := _split(ref)) is not None:
            hit = store.find_by_name(*parts)
            if hit is not None:
                found[ref] = hit
    return found


def by_refs(
    store: CatalogReader, requested: Sequence[str], fields: list[str] | None, alternatives: Alternatives | None
) -> bytes:
    """``{"items": [...]}`` in request order, ``null`` for refs that do not exist or fail the filter."""
    found = load_by_refs(store, requested)
    allowed = {ref.lower() for ref in store.match_refs(alternatives) or []} if alternatives else None
    parts = []
    for ref in requested:
        hit = found.get(ref.lower())
        if hit is None or (allowed is not None and ref.lower() not in allowed):
            parts.append("null")
        else:
            parts.append(stored_json(hit[0], hit[1], hit[2], fields))
    return ('{"items":[' + ",".join(parts) + "]}").encode("utf-8")


def by_name(store: CatalogReader, kind: str, namespace: str, name: str) -> bytes:
    """One indexed query (kind, namespace, lower-cased name), served from the stored JSON text."""
    hit = store.find_by_name(kind, namespace, name)
    if hit is None:
        raise NotFoundError(f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'")
    ref, body, etag = hit
    return stored_json(ref, body, etag, None).encode("utf-8")


def by_uid(store: CatalogReader, uid: str) -> bytes:
    """Uids are derived from refs (see ``identity``), so finding one is a scan over refs, not bodies."""
    wanted = uid.lower()
    for ref in store.load_index():
        if uid_for(ref) == wanted:
            row = store.load_served([ref]).get(ref)
            if row is not None:
                return stored_json(ref, row[0], row[1], None).encode("utf-8")
    raise NotFoundError(f"No entity with uid {uid}")
