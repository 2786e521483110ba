"""After publishing: is each entity in Backstage, and if not, what is Backstage's reason?

Backstage's REST API never shows a rejection: the entity is simply absent. So the output reads
back every published ref (``by-refs``), and for the missing ones asks Backstage itself:

* the file's own Location entity is absent too -> the whole file was refused: a dry-run read of
  the file returns the error (``NotAllowedError`` for a kind ``catalog.rules`` does not allow, or
  a URL ``backend.reading.allow`` does not cover);
* the file is in, one entity is not -> ``validate-entity`` on that entity returns the error (e.g.
  ``No processor recognized ... foreign kind``), asked once per kind and then per entity (bounded).

What stays unexplained after ``verifyTimeout`` is reported as pending, not as a rejection.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from openchoreo_sync import Entity, entity_ref

from .api import ORIGIN_ANNOTATION, CatalogApi
from .layout import INDEX_FILE, Publication, location_ref

POLL_SECONDS = 1.0
SETTLE_SECONDS = 2.0
"""Backstage needs ~1-3 s to process a read; asking for reasons earlier only finds "pending"."""
MAX_ENTITY_CHECKS = 20
"""validate-entity calls per verification beyond one per kind: a bound on a pathological catalog."""


@dataclass
class Verdict:
    """The outcome of one verification."""

    expected: int = 0
    present: int = 0
    rejected: dict[str, str] = field(default_factory=dict)
    """published ref -> Backstage's reason"""
    pending: list[str] = field(default_factory=list)
    """refs still absent without a reason when the bound ran out"""
    foreign: set[str] = field(default_factory=set)
    """published refs Backstage holds from another origin (e.g. a group its identity sync created)"""
    seconds: float = 0.0


def fix_for(reason: str, kind: str, *, custom: bool) -> str:
    """The configuration change that makes Backstage accept it, for the usual reasons."""
    text = reason.lower()
    if "not of an allowed kind" in text:
        extra = " (or leave customKinds at auto / set resource: it is then published as Resource)" if custom else ""
        return f"allow {kind} in catalog.rules of the Backstage app-config{extra}"
    if "no processor recognized" in text:
        return (
            "install OpenChoreo's Backstage catalog processors, or set customKinds: auto (the default) or "
            "resource so it is published as Resource"
        )
    if "reading" in text and "not allowed" in text:
        return "add the publishUrl host:port to backend.reading.allow in the Backstage app-config"
    return "see Backstage's log for the entity"


def _entities_of(publication: Publication, path: str) -> dict[str, Entity]:
    docs = yaml.safe_load_all(publication.files.get(path, b""))
    return {entity_ref(d): d for d in docs if isinstance(d, dict)}


async def _diagnose(
    api: CatalogApi, publication: Publication, missing: list[str], present: dict[str, Any]
) -> dict[str, str]:
    """Backstage's reasons for the ``missing`` refs it can explain (others stay unexplained)."""
    reasons: dict[str, str] = {}
    file_of = publication.file_of()
    by_file: dict[str, list[str]] = defaultdict(list)
    index_ref = location_ref(publication.index_url)
    for ref in missing:
        if ref == index_ref:
            errors = await api.dry_run(publication.index_url)
            if errors:
                reasons[ref] = errors[0]
            continue
        path = file_of.get(ref)
        if path is not None:
            by_file[path].append(ref)
    file_refs = {publication.location_entity_ref(p): p for p in publication.entity_files()}
    for ref in missing:
        if ref in file_refs:
            by_file[file_refs[ref]].append(ref)
    checks = 0
    for path, refs in sorted(by_file.items()):
        if present.get(publication.location_entity_ref(path)) is None:
            errors = await api.dry_run(publication.url(path))
            if errors:
                for ref in refs:
                    reasons[ref] = errors[0]
            continue
        entities = _entities_of(publication, path)
        by_kind: dict[str, list[str]] = defaultdict(list)
        for ref in refs:
            if ref in entities:
                by_kind[str(entities[ref].get("kind", ""))].append(ref)
        for refs_of_kind in by_kind.values():
            first, rest = refs_of_kind[0], refs_of_kind[1:]
            errors = await api.validate_entity(entities[first], publication.url(path))
            if errors:
                for ref in refs_of_kind:
                    reasons[ref] = errors[0]
                continue
            for ref in rest[: max(0, MAX_ENTITY_CHECKS - checks)]:
                checks += 1
                errors = await api.validate_entity(entities[ref], publication.url(path))
                if errors:
                    reasons[ref] = errors[0]
    return reasons


async def verify(
    api: CatalogApi,
    publication: Publication,
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Verdict:
    """Poll ``by-refs`` until every published ref is in Backstage or explained, within ``timeout``."""
    started = clock()
    expected = [ref for refs in publication.members.values() for ref in refs]
    expected += [publication.location_entity_ref(p) for p in publication.entity_files()]
    if publication.files.get(INDEX_FILE):
        expected.append(location_ref(publication.index_url))
    verdict = Verdict(expected=len(expected))
    reasons: dict[str, str] = {}
    diagnosed_at: float | None = None
    while True:
        present = await api.by_refs(expected)
        missing = [ref for ref in expected if present.get(ref) is None]
        verdict.present = len(expected) - len(missing)
        now = clock()
        unexplained = [ref for ref in missing if ref not in reasons]
        if unexplained and now - started >= SETTLE_SECONDS and (diagnosed_at is None or now - diagnosed_at >= 3):
            reasons.update(await _diagnose(api, publication, unexplained, present))
            diagnosed_at = clock()
            unexplained = [ref for ref in missing if ref not in reasons]
        if not unexplained or clock() - started >= timeout:
            origin = f"url:{publication.index_url}"
            verdict.foreign = {
                ref
                for ref, item in present.items()
                if item is not None
                and ((item.get("metadata") or {}).get("annotations") or {}).get(ORIGIN_ANNOTATION, origin) != origin
            }
            verdict.rejected = {ref: reasons[ref] for ref in missing if ref in reasons}
            verdict.pending = unexplained
            verdict.seconds = round(clock() - started, 2)
            return verdict
        await asyncio.sleep(POLL_SECONDS)  # a bounded poll of a remote system
