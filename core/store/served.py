"""The etag the read API serves for a stored body, computed once at commit instead of per request.

The read API serves each entity as its stored canonical JSON plus ``metadata.uid`` and
``metadata.etag`` (Backstage clients expect both). The etag is the SHA-1 of that canonical JSON:
it changes exactly when the entity's content (relations included) changes. Computing it at commit
and keeping it next to the body lets a read serve the stored text with the two fields spliced into
``metadata``, with no JSON decode or encode at all.

Splicing is only safe for a body whose first ``"metadata":{`` is the top-level one and whose
metadata has neither field of its own; for any other body the etag column stays NULL and the read
API decodes and decorates it the long way (same answer, slower).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

METADATA_OPENING = '"metadata":{'
"""Where the read API splices ``"etag":...,"uid":...,`` into a stored body."""

_USUAL_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata", "spec", "relations", "status"})
"""Top-level keys of which only ``apiVersion`` and ``kind`` sort before ``metadata``."""


def spliceable(entity: dict[str, Any], body: str) -> bool:
    """True when the body opens with the entity's top-level keys before ``metadata`` and then
    ``METADATA_OPENING``, and the served entity needs nothing but the two spliced fields.

    The engine stores canonical JSON (sorted keys, no spaces): only the few small values sorting
    before ``metadata`` (``apiVersion``, ``kind``) are re-encoded to check the opening, and the
    splice point must be the first occurrence (an object sorting before ``metadata`` may hold one).
    """
    metadata = entity.get("metadata")
    if type(metadata) is not dict or not metadata or "uid" in metadata or "etag" in metadata:
        return False
    if "relations" not in entity:
        return False
    api_version, kind = entity.get("apiVersion"), entity.get("kind")
    if entity.keys() <= _USUAL_TOP_LEVEL and type(api_version) is str and type(kind) is str:
        # nearly every entity: apiVersion and kind are the only keys sorting before metadata
        opening = f'{{"apiVersion":{_encode_string(api_version)},"kind":{_encode_string(kind)},{METADATA_OPENING}'
    else:
        before = sorted(key for key in entity if key < "metadata")
        opening = "{" + "".join(f"{_dumps(key)}:{_dumps(entity[key])}," for key in before) + METADATA_OPENING
    return body.startswith(opening) and body.find(METADATA_OPENING) == len(opening) - len(METADATA_OPENING)


def served_etag(entity: dict[str, Any], body: str) -> str | None:
    """The etag to store for a body (SHA-1 of its JSON text, the entity's canonical JSON as the
    engine stores it), or None if the read API must not splice it."""
    if not spliceable(entity, body):
        return None
    return hashlib.sha1(body.encode("utf-8")).hexdigest()


_encode_string = json.encoder.encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses


def _dumps(value: Any) -> str:
    """Canonical JSON of a value; strings (``apiVersion``, ``kind``) without json.dumps' set-up cost."""
    if type(value) is str:
        return _encode_string(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
