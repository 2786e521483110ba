"""Entities as the store keeps them: canonical JSON, a content hash, and the writes a commit makes.

Equal content always gives an equal hash, so a run writes (and reports as changed) exactly the
entities whose committed body would differ; everything else is left untouched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping

from .model import Entity, EntityRef
from .relation_graph import RelationGraph
from .snapshot import ChangeSet
from .store.base import EntityWrite, IndexEntry

Origin = tuple[str, str, str]
"""(collection key, family, source id) of an entity, as the store records it."""


def serialize(entity: Entity) -> tuple[str, str]:
    """Canonical JSON and its content hash: equal content always gives an equal hash."""
    body = json.dumps(entity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return body, hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


def iter_writes(
    entities: Mapping[EntityRef, Entity],
    previous: Mapping[EntityRef, IndexEntry],
    origin_of: Callable[[EntityRef], Origin],
    changes: ChangeSet,
    stale: set[EntityRef] | frozenset[EntityRef] = frozenset(),
    relations: RelationGraph | None = None,
) -> Iterator[EntityWrite]:
    """Serialize every entity; yield a write for each whose content hash differs from the stored one.

    A generator, recording each change in ``changes`` as it goes: the store consumes it inside its
    transaction, so only one chunk of serialised bodies (with their relations, taken from
    ``relations`` when given) is in memory at a time.
    """
    for ref, entity in entities.items():
        if relations is not None:
            entity = relations.with_relations(ref, entity)
        text, digest = serialize(entity)
        before = previous.get(ref)
        if before is not None and before.hash == digest:
            continue
        (changes.changed if before is not None else changes.added).append(ref)
        collection, family, source = origin_of(ref)
        yield EntityWrite(ref, entity, text, digest, collection, family, ref in stale, source)


def diff_writes(
    entities: Mapping[EntityRef, Entity],
    previous: Mapping[EntityRef, IndexEntry],
    origin_of: Callable[[EntityRef], Origin],
) -> tuple[ChangeSet, list[EntityWrite]]:
    """All writes at once (for small deltas)."""
    changes = ChangeSet()
    writes = list(iter_writes(entities, previous, origin_of, changes))
    return changes, writes
