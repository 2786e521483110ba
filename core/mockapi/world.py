"""In-memory OpenChoreo world: the objects the mock serves, with snapshot reads.

The real API lists through an uncached Kubernetes client whose continue tokens read a
consistent snapshot at the resourceVersion of the first page. To answer the same way, every
(collection, namespace) keeps a short history of immutable, name-sorted snapshots: a page is
a slice of one snapshot, and a cursor whose snapshot has been dropped ("compacted") expires.
"""

from __future__ import annotations

import copy
import threading
import uuid
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .kinds import API_VERSION, CONTROL_PLANE_LABEL, NAMESPACED, kind_info

Obj = dict[str, Any]
Action = Literal["created", "updated", "deleted"]
HISTORY = 64


@dataclass(frozen=True)
class ChangeEvent:
    """One world mutation, as the event forwarder would report it."""

    collection: str
    kind: str
    name: str
    namespace: str
    action: Action

    def payload(self) -> dict[str, str]:
        """The webhook body of OpenChoreo's event forwarder."""
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace, "action": self.action}


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of one collection at resourceVersion ``rv``."""

    rv: int
    names: list[str]
    items: dict[str, Obj]


EMPTY = Snapshot(0, [], {})


@dataclass
class _Collection:
    history: deque[Snapshot] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def current(self) -> Snapshot:
        return self.history[-1] if self.history else EMPTY


class CursorExpired(Exception):
    """The snapshot a continue token points at is gone (Kubernetes answers 410)."""


Listener = Callable[[ChangeEvent], None]


class World:
    """Thread-safe store of OpenChoreo objects keyed by (collection, namespace, name).

    Cluster-scoped collections and ``namespaces`` use the namespace ``""``. Objects handed
    out by :meth:`get` and :meth:`items` are copies; mutate only through :meth:`put` and
    :meth:`delete` so that listeners (webhook events) see every change.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._cols: dict[tuple[str, str], _Collection] = {}
        self._rv = 1
        self._compacted_rv = 0
        self._listeners: list[Listener] = []
        self._uid_seq = 0

    # -- reading ---------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def snapshot(self, collection: str, namespace: str, rv: int | None = None) -> Snapshot:
        """The collection as of ``rv`` (default: now); raise CursorExpired if compacted."""
        col = self._cols.get((collection, _ns(collection, namespace)))
        if rv is None:
            return col.current if col else EMPTY
        if rv < self._compacted_rv:
            raise CursorExpired(rv)
        if col is None:
            return EMPTY
        history = list(col.history)
        for snap in reversed(history):
            if snap.rv <= rv:
                return snap
        if history and len(history) == HISTORY:
            raise CursorExpired(rv)
        return EMPTY

    def get(self, collection: str, namespace: str, name: str) -> Obj | None:
        """A deep copy of one object, or None."""
        obj = self.snapshot(collection, namespace).items.get(name)
        return copy.deepcopy(obj) if obj is not None else None

    def items(self, collection: str, namespace: str = "") -> list[Obj]:
        """Deep copies of every object of a collection, in name order."""
        snap = self.snapshot(collection, namespace)
        return [copy.deepcopy(snap.items[n]) for n in snap.names]

    def namespaces(self) -> list[str]:
        """Names of the control-plane namespaces (the ones the API lists)."""
        snap = self.snapshot("namespaces", "")
        return [n for n in snap.names if snap.items[n]["metadata"].get("labels", {}).get(CONTROL_PLANE_LABEL) == "true"]

    def count(self, collection: str) -> int:
        """Number of objects of a collection across all namespaces."""
        return sum(len(c.current.names) for (coll, _), c in self._cols.items() if coll == collection)

    # -- listeners -------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    # -- mutation --------------------------------------------------------------------
    def put(self, collection: str, namespace: str, body: Obj) -> Obj:
        """Create or replace an object; fills apiVersion/kind/namespace/uid/creationTimestamp."""
        info = kind_info(collection)
        ns = _ns(collection, namespace)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("metadata.name is required")
        if info.scope != "root":
            obj = {"apiVersion": API_VERSION, "kind": info.kind, **obj}
        if info.scope == "namespace":
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if info.scope == "root":
            meta.setdefault("labels", {}).setdefault(CONTROL_PLANE_LABEL, "true")
            obj.setdefault("status", {"phase": "Active"})
        with self._lock:
            old = self.snapshot(collection, ns).items.get(name)
            if "uid" not in meta:
                meta["uid"] = old["metadata"]["uid"] if old else self._new_uid()
            if "creationTimestamp" not in meta:
                meta["creationTimestamp"] = (old["metadata"].get("creationTimestamp") if old else _now()) or _now()
            self._write(collection, ns, {name: obj}, ())
        self._emit(ChangeEvent(collection, info.event_kind, name, ns, "updated" if old else "created"))
        return copy.deepcopy(obj)

    def delete(self, collection: str, namespace: str, name: str) -> bool:
        """Remove an object (a namespace takes its contents with it); False if absent."""
        info = kind_info(collection)
        ns = _ns(collection, namespace)
        events: list[ChangeEvent] = []
        with self._lock:
            if name not in self.snapshot(collection, ns).items:
                return False
            if collection == "namespaces":
                for coll in NAMESPACED:
                    snap = self.snapshot(coll, name)
                    if snap.names:
                        kind = kind_info(coll).event_kind
                        events += [ChangeEvent(coll, kind, n, name, "deleted") for n in snap.names]
                        self._write(coll, name, {}, snap.names)
            self._write(collection, ns, {}, (name,))
        events.append(ChangeEvent(collection, info.event_kind, name, ns, "deleted"))
        for event in events:
            self._emit(event)
        return True

    def load(self, collection: str, namespace: str, objs: Iterable[Obj]) -> None:
        """Bulk insert without events or copies: for world generation only."""
        with self._lock:
            self._write(collection, _ns(collection, namespace), {o["metadata"]["name"]: o for o in objs}, ())

    def compact(self) -> None:
        """Drop all history, as etcd compaction does: every outstanding cursor expires."""
        with self._lock:
            self._rv += 1
            self._compacted_rv = self._rv
            for col in self._cols.values():
                cur = col.current
                col.history.clear()
                col.history.append(Snapshot(self._rv, cur.names, cur.items))

    # -- internals -------------------------------------------------------------------
    def _write(self, collection: str, ns: str, upserts: dict[str, Obj], removals: Iterable[str]) -> None:
        col = self._cols.setdefault((collection, ns), _Collection())
        cur = col.current
        items = dict(cur.items)
        names = list(cur.names)
        for name in removals:
            if items.pop(name, None) is not None:
                del names[bisect_right(names, name) - 1]
        new = [n for n in upserts if n not in items]
        items.update(upserts)
        if len(new) > 16:
            names = sorted(set(names).union(new))
        else:
            for n in new:
                insort(names, n)
        self._rv += 1
        col.history.append(Snapshot(self._rv, names, items))

    def _new_uid(self) -> str:
        self._uid_seq += 1
        return str(uuid.UUID(int=(0x6D6F636B << 96) | self._uid_seq, version=4))

    def _emit(self, event: ChangeEvent) -> None:
        for listener in list(self._listeners):
            listener(event)


def _ns(collection: str, namespace: str) -> str:
    return namespace if kind_info(collection).scope == "namespace" else ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
