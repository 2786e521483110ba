"""A snapshot of the catalog and the change set between two snapshots."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .model import Entity, EntityRef
from .relation_graph import RelationGraph


class EntityIndex(Mapping[EntityRef, Entity]):
    """Every entity of the snapshot being built, by ref, with a by-kind lookup for relators."""

    def __init__(self, entities: Mapping[EntityRef, Entity]) -> None:
        self._entities = entities
        self._by_kind: dict[str, list[Entity]] | None = None

    def __getitem__(self, ref: EntityRef) -> Entity:
        return self._entities[ref]

    def __iter__(self) -> Iterator[EntityRef]:
        return iter(self._entities)

    def __len__(self) -> int:
        return len(self._entities)

    def by_kind(self, kind: str) -> list[Entity]:
        """Entities whose ``kind`` equals ``kind`` (case-insensitive)."""
        if self._by_kind is None:
            grouped: dict[str, list[Entity]] = defaultdict(list)
            for entity in self._entities.values():
                grouped[str(entity["kind"]).lower()].append(entity)
            self._by_kind = dict(grouped)
        return self._by_kind.get(kind.lower(), [])


class SnapshotView(Protocol):
    """Read access to a committed snapshot, for outputs."""

    @property
    def run_id(self) -> str: ...

    def __len__(self) -> int: ...

    def refs(self) -> list[EntityRef]: ...

    def get(self, ref: EntityRef) -> Entity | None: ...

    def entities(self, *, with_relations: bool = True) -> Iterator[tuple[EntityRef, Entity]]:
        """Every entity as committed; ``with_relations=False`` lets a view skip building each
        entity's ``relations`` (an output that publishes to a Backstage, which computes its own,
        saves a copy of every entity). Entities are read-only: copy one before changing it."""
        ...

    def content_key(self) -> str | None:
        """A digest of every entity's ref and content (relations included) as committed, or None
        when the view cannot tell without the bodies. Equal keys: :meth:`entities` gives the same
        entities, so an output may reuse what it made of them instead of reading them again.
        After :meth:`entities`, the key of what it gave (a commit may have come since)."""
        ...


@dataclass
class MemorySnapshot:
    """A snapshot held in memory (what a run just built), its relations kept apart in a graph."""

    run_id: str
    by_ref: Mapping[EntityRef, Entity]
    relations: RelationGraph | None = None

    def __len__(self) -> int:
        return len(self.by_ref)

    def refs(self) -> list[EntityRef]:
        return list(self.by_ref)

    def get(self, ref: EntityRef) -> Entity | None:
        entity = self.by_ref.get(ref)
        if entity is None or self.relations is None:
            return entity
        return self.relations.with_relations(ref, entity)

    def entities(self, *, with_relations: bool = True) -> Iterator[tuple[EntityRef, Entity]]:
        if self.relations is None or not with_relations:
            return iter(self.by_ref.items())
        graph = self.relations
        return ((ref, graph.with_relations(ref, entity)) for ref, entity in self.by_ref.items())

    def content_key(self) -> str | None:
        return None  # the run's entities carry no stored hashes: an output reads them


@dataclass
class ChangeSet:
    """What changed between the last good snapshot and this one.

    ``removed_entities`` keeps the last body of each removed entity, so an output can find where it
    had written it. ``full`` asks the output to reconcile everything it holds with the snapshot.
    ``event`` is True for an event delta: an output may leave slow checks of its target to the
    next full run, so events stay quick.
    """

    added: list[EntityRef] = field(default_factory=list)
    changed: list[EntityRef] = field(default_factory=list)
    removed: list[EntityRef] = field(default_factory=list)
    removed_entities: dict[EntityRef, Entity] = field(default_factory=dict)
    full: bool = False
    event: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.full)

    def upserted(self) -> list[EntityRef]:
        return self.added + self.changed

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed)}
