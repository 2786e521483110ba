"""The relations of one snapshot, packed as integers until an entity is written or read.

A 50k-component platform has ~400k relations (both directions). As ``{"type", "targetRef"}`` dicts
on every entity, plus the per-entity sets that deduplicate them, they cost more than 100 MB at the
very moment the run holds every entity anyway. Here each relation is one 64-bit integer
``(source id, type id, target id)`` in an ``array``: ~8 bytes a relation. An entity's list is
built only when it is serialized for the store or handed to an output, one entity at a time.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping

from .model import Entity, EntityRef

_ID_BITS = 26
_TYPE_BITS = 12
_SOURCE_SHIFT = _ID_BITS + _TYPE_BITS
_ID_MASK = (1 << _ID_BITS) - 1
_TYPE_MASK = (1 << _TYPE_BITS) - 1

RelationDict = dict[str, str]


class RelationGraph:
    """Edges between the entities of a snapshot (the members) and any ref they point at.

    Ids are handed out to members first, so ``id < members`` tells a member from a dangling target.
    ``relate`` while relating, ``seal`` once (sorts and deduplicates), then ``relations_of``.
    """

    def __init__(self, members: Iterable[EntityRef]) -> None:
        self._ids: dict[EntityRef, int] = {}
        self._refs: list[EntityRef] = []
        for ref in members:
            _intern(self._ids, self._refs, ref, _ID_MASK, "entity refs")
        self._members = len(self._refs)
        self._type_ids: dict[str, int] = {}
        self._types: list[str] = []
        self._edges = array("Q")
        self._sealed = False
        self._plain = True
        self._plain_checked = (0, 0)
        """how many of ``_types`` and ``_refs`` :meth:`relations_plain` has checked"""

    def __len__(self) -> int:
        """The number of distinct relations (after ``seal``)."""
        return len(self._edges)

    def member_id(self, ref: EntityRef) -> int | None:
        found = self._ids.get(ref)
        return found if found is not None and found < self._members else None

    def id_of(self, ref: EntityRef) -> int:
        """The id of any ref; a ref outside the snapshot gets a new id past the members."""
        return _intern(self._ids, self._refs, ref, _ID_MASK, "entity refs")

    def relate(self, source: EntityRef, relation_type: str, target: EntityRef, inverse: str | None) -> bool | None:
        """Record ``source -> target`` and, when the target is a member, its ``inverse`` (if any).

        None when ``source`` is not a member (nothing recorded: the relation has nowhere to live),
        False when ``target`` is outside the snapshot (dangling), True otherwise. One call per
        relation: this runs hundreds of thousands of times per run.
        """
        ids = self._ids
        source_id = ids.get(source)
        if source_id is None or source_id >= self._members:
            return None
        target_id = ids.get(target)
        if target_id is None:
            target_id = self.id_of(target)
        edges = self._edges
        type_ids = self._type_ids  # a handful of types: looked up here, interned only when new
        type_id = type_ids.get(relation_type)
        if type_id is None:
            type_id = self._type_id(relation_type)
        edges.append((source_id << _SOURCE_SHIFT) | (type_id << _ID_BITS) | target_id)
        self._sealed = False
        if target_id >= self._members:
            return False
        if inverse:
            inverse_id = type_ids.get(inverse)
            if inverse_id is None:
                inverse_id = self._type_id(inverse)
            edges.append((target_id << _SOURCE_SHIFT) | (inverse_id << _ID_BITS) | source_id)
        return True

    def _type_id(self, relation_type: str) -> int:
        return _intern(self._type_ids, self._types, relation_type, _TYPE_MASK, "relation types")

    def seal(self) -> None:
        """Sort by source and drop duplicates, so each member's edges are one contiguous run."""
        ordered = sorted(self._edges)
        self._edges = array("Q")
        previous = -1
        for edge in ordered:
            if edge != previous:
                self._edges.append(edge)
                previous = edge
        self._sealed = True

    def relations_of(self, ref: EntityRef) -> list[RelationDict]:
        """``ref``'s relations as Backstage writes them, ordered by (type, targetRef)."""
        if not self._sealed:
            self.seal()
        source_id = self.member_id(ref)
        if source_id is None:
            return []
        edges = self._edges
        start = bisect_left(edges, source_id << _SOURCE_SHIFT)
        end = bisect_left(edges, (source_id + 1) << _SOURCE_SHIFT, start)
        types, refs = self._types, self._refs
        pairs = sorted((types[(edge >> _ID_BITS) & _TYPE_MASK], refs[edge & _ID_MASK]) for edge in edges[start:end])
        return [{"type": relation_type, "targetRef": target} for relation_type, target in pairs]

    def relations_plain(self) -> bool:
        """True when every relation type and ref the graph holds is an exact ``str``: every list
        :meth:`relations_of` gives is then plain data (``serialization.plain_data``). False may
        also mean unknown. The names are only ever appended: each is checked once."""
        types, refs = self._types, self._refs
        checked_types, checked_refs = self._plain_checked
        if self._plain and (checked_types < len(types) or checked_refs < len(refs)):
            self._plain = all(type(name) is str for name in types[checked_types:]) and all(
                type(ref) is str for ref in refs[checked_refs:]
            )
        self._plain_checked = (len(types), len(refs))
        return self._plain

    def attach(self, entities: Mapping[EntityRef, Entity]) -> None:
        """Write every member's relations into its entity (for callers that want plain dicts)."""
        for ref, entity in entities.items():
            entity["relations"] = self.relations_of(ref)

    def with_relations(self, ref: EntityRef, entity: Entity) -> Entity:
        """A shallow copy of ``entity`` carrying its relations; the entity itself is left alone."""
        return {**entity, "relations": self.relations_of(ref)}


def _intern(ids: dict[str, int], names: list[str], name: str, limit: int, what: str) -> int:
    """The id of ``name`` in an (id table, name list) pair; a new name gets the next id, up to ``limit``."""
    found = ids.get(name)
    if found is None:
        found = len(names)
        if found > limit:
            raise ValueError(f"more than {limit + 1} distinct {what} in one snapshot")
        ids[name] = found
        names.append(name)
    return found
