"""A snapshot view read from the state store, for outputs handed an event delta.

After a delta only a few entities are in memory; an output that rewrites a whole file or
location still needs its siblings, so it reads them from the committed snapshot here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .model import Entity, EntityRef
from .store.base import StateStore


class StoreSnapshot:
    def __init__(self, store: StateStore, run_id: str, preloaded: Mapping[EntityRef, Entity] | None = None) -> None:
        self.run_id = run_id
        self._store = store
        self._cache: dict[EntityRef, Entity] = dict(preloaded or {})
        self._refs: list[EntityRef] | None = None
        self._read_key: str | None = None

    def __len__(self) -> int:
        return len(self.refs())

    def refs(self) -> list[EntityRef]:
        if self._refs is None:
            self._refs = list(self._store.load_index())
        return self._refs

    def get(self, ref: EntityRef) -> Entity | None:
        if ref not in self._cache:
            found = self._store.load_bodies([ref])
            if ref not in found:
                return None
            self._cache.update(found)
        return self._cache[ref]

    def entities(self, *, with_relations: bool = True) -> Iterator[tuple[EntityRef, Entity]]:
        bodies, self._read_key = self._store.all_bodies_with_digest()
        return iter(bodies)  # stored bodies carry their relations already

    def content_key(self) -> str | None:
        """The digest of every ref and content hash: of the bodies :meth:`entities` gave (read in
        the same statement), else the store's now (no body read)."""
        return self._read_key if self._read_key is not None else self._store.content_digest()
