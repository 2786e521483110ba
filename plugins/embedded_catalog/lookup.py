"""Single-entity and batch lookups: ``by-name``, ``by-uid`` and ``POST by-refs``.

Refs compare case-insensitively, as in Backstage (it lower-cases whole refs). Stored refs keep the
name's case, so a ref that is not found as written is looked up again through the search table
(kind, namespace and name, all lower-cased). Only the entities asked for are ever loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from openchoreo_sync import Entity, parse_ref
from openchoreo_sync.kit import CatalogReader

from .errors import NotFoundError
from .identity import uid_for, with_identity
from .params import Alternatives, Condition
from .serialize import CHUNK, entity_json

FALLBACK_BATCH = 100


def _name_conditions(kind: str, namespace: str, name: str) -> list[Condition]:
    return [
        ("kind", [kind.lower()]),
        ("metadata.namespace", [namespace.lower()]),
        ("metadata.name", [name.lower()]),
    ]


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


def load_by_refs(store: CatalogReader, requested: Sequence[str]) -> dict[str, tuple[str, Entity]]:
    """Requested ref (lower-cased) -> (stored ref, body), for the requested refs that exist."""
    wanted = list(dict.fromkeys(ref.lower() for ref in requested))
    probe = list(dict.fromkeys([*requested, *wanted]))
    found: dict[str, tuple[str, Entity]] = {}
    for start in range(0, len(probe), CHUNK):
        for ref, body in store.load_bodies(probe[start : start + CHUNK]).items():
            found.setdefault(ref.lower(), (ref, body))
    missing = [(ref, parts) for ref in wanted if ref not in found and (parts := _split(ref)) is not None]
    for start in range(0, len(missing), FALLBACK_BATCH):
        alternatives: Alternatives = [_name_conditions(*parts) for _, parts in missing[start : start + FALLBACK_BATCH]]
        for ref, body in store.load_bodies(store.match_refs(alternatives) or []).items():
            found.setdefault(ref.lower(), (ref, body))
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
            parts.append(b"null")
        else:
            parts.append(entity_json(with_identity(*hit), fields))
    return b'{"items":[' + b",".join(parts) + b"]}"


def by_name(store: CatalogReader, kind: str, namespace: str, name: str) -> bytes:
    refs = sorted(store.match_refs([_name_conditions(kind, namespace, name)]) or [])
    bodies = store.load_bodies(refs[:1])
    if not refs or refs[0] not in bodies:
        raise NotFoundError(f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'")
    return entity_json(with_identity(refs[0], bodies[refs[0]]), None)


def by_uid(store: CatalogReader, uid: str) -> bytes:
    """Uids are derived from refs (see ``identity``), so finding one is a scan over refs, not bodies."""
    wanted = uid.lower()
    for ref in store.load_index():
        if uid_for(ref) == wanted:
            body = store.load_bodies([ref]).get(ref)
            if body is not None:
                return entity_json(with_identity(ref, body), None)
    raise NotFoundError(f"No entity with uid {uid}")
