"""The plain data that flows between the sync stages.

Entities stay plain ``dict`` objects (Backstage's own JSON shape) inside the engine: they are created
by the hundred thousand per run, and dict access is what keeps map+relate fast. Pydantic is used
only at the edges (config, API payloads).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

Entity = dict[str, Any]
"""A Backstage entity: ``{apiVersion, kind, metadata, spec[, relations]}``."""

EntityRef = str
"""``kind:namespace/name`` with kind and namespace lower-cased, as Backstage stringifies refs."""

EMPTY_CONTEXT: Mapping[str, Any] = MappingProxyType({})


def make_ref(kind: str, namespace: str | None, name: str) -> EntityRef:
    """Build a ref the way Backstage's ``stringifyEntityRef`` does (kind, namespace lower-case)."""
    return f"{kind.lower()}:{(namespace or 'default').lower()}/{name}"


def entity_ref(entity: Mapping[str, Any]) -> EntityRef:
    metadata = entity["metadata"]
    return make_ref(entity["kind"], metadata.get("namespace"), metadata["name"])


def parse_ref(ref: str, *, default_kind: str | None = None, default_namespace: str = "default") -> tuple[str, str, str]:
    """Split ``[kind:][namespace/]name`` into (kind, namespace, name), applying defaults.

    Raises ValueError when no kind is given and there is no default, like Backstage's parseEntityRef.
    """
    kind: str | None = default_kind
    rest = ref
    if ":" in rest:
        kind, rest = rest.split(":", 1)
    namespace = default_namespace
    if "/" in rest:
        namespace, rest = rest.split("/", 1)
    if not kind:
        raise ValueError(f"entity ref {ref!r} has no kind and no default kind applies")
    if not rest or not namespace:
        raise ValueError(f"entity ref {ref!r} is not of the form [kind:][namespace/]name")
    return kind, namespace, rest


def normalize_ref(ref: str, *, default_kind: str | None = None, default_namespace: str = "default") -> EntityRef:
    kind, namespace, name = parse_ref(ref, default_kind=default_kind, default_namespace=default_namespace)
    return make_ref(kind, namespace, name)


def source_id(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind.lower()}:{namespace or ''}/{name}"


@dataclass(frozen=True, slots=True, order=True)
class CollectionKey:
    """One unit of fetching that either completes or fails as a whole.

    ``family`` is the plugin that fetched it; ``namespace`` is None for cluster-scoped collections.
    Entities remember the key they came from, so a failed collection can carry its previous
    entities forward instead of deleting them.
    """

    family: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        scope = self.namespace if self.namespace is not None else "cluster"
        return f"{self.family}:{scope}/{self.name}"


@dataclass(slots=True)
class Resource:
    """One raw OpenChoreo object, as the API returned it, plus what its family joined onto it.

    ``kind`` is the OpenChoreo kind (``Component``, ``Namespace``, ``ClusterTrait`` ...): mappers
    dispatch on it. ``context`` carries joined data (a component's workload, its project, lookup
    tables shared by the whole collection) so a mapper never needs I/O.
    """

    kind: str
    body: Mapping[str, Any]
    namespace: str | None = None
    context: Mapping[str, Any] = field(default_factory=lambda: EMPTY_CONTEXT)

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def source_id(self) -> str:
        """Identity of the raw object (``kind:namespace/name``, lower-case kind), used to find
        everything it produced when an event says it changed or is gone."""
        return source_id(self.kind, self.namespace, self.name)

    def describe(self) -> str:
        """Human-readable identity used in every error and warning about this resource."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name or '<unnamed>'}"


@dataclass(slots=True)
class Collection:
    """What a family fetched for one collection: every resource of it, or the error that stopped it.

    ``root`` marks a collection that scopes others (the namespace list): when a root collection
    comes back empty while the catalog still holds entities from it, the deletion guard holds the run.
    """

    name: str
    namespace: str | None = None
    resources: list[Resource] = field(default_factory=list)
    error: BaseException | None = None
    root: bool = False
    unchanged: bool = False
    """Not read this run on purpose (its source is refreshed on its own schedule): the core keeps
    what the last snapshot holds from it as it is, not stale; ``resources`` is ignored."""
    _inputs: tuple[str, list[Resource], tuple[object, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def ok(self) -> bool:
        return self.error is None

    def made_from(self, digest: str | None) -> Collection:
        """Say that ``resources`` are what this family makes of API bytes that digest to ``digest``.

        :meth:`~openchoreo_sync.context.SyncContext.walk` says it of the collections it returns
        (the digest of the walk's pages); a family that joins walks says it with
        :func:`joined_inputs` of them, promising that it makes the same resources of the same
        items. The unchanged-inputs skip then compares this digest instead of encoding every
        resource. It holds while ``resources`` is the same list of resources with the same
        ``body`` and ``context`` objects: a family that adds resources, or replaces or re-points
        their bodies or contexts (schema reads, template files), drops it, and the resources are
        digested as mapping receives them. What those objects hold is not looked into, nor is a
        resource's ``kind`` or ``namespace`` re-set: fetched resources are read-only, here as
        everywhere.
        """
        self._inputs = None if digest is None else (digest, self.resources, _identities(self.resources))
        return self

    def inputs_digest(self) -> str | None:
        """The digest :meth:`made_from` gave, while ``resources`` is still what it was given with."""
        if self._inputs is None or self.error is not None:
            return None
        digest, resources, identities = self._inputs
        if self.resources is not resources or len(identities) != 2 * len(resources):
            return None
        parts = iter(identities)  # compared as they come: a second tuple would be ~5 MB at 50k components
        same = all(r.body is next(parts) and r.context is next(parts) for r in resources)
        return digest if same else None


def _identities(resources: list[Resource]) -> tuple[object, ...]:
    """Every resource's body and context, flat: compared by identity (a few ms for 65,000
    resources), they show a resource replaced or re-pointed at new ones, which is how a family
    adds what it read. Two references per resource, as it costs memory for the whole fetch."""
    return tuple(part for r in resources for part in (r.body, r.context))


def joined_inputs(*collections: Collection) -> str | None:
    """One digest of several collections' :meth:`Collection.inputs_digest` (in this order), for a
    collection a family joins from them; None when one of them has none."""
    digests = [collection.inputs_digest() for collection in collections]
    if any(digest is None for digest in digests):
        return None
    return hashlib.sha256(" ".join(str(d) for d in digests).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Relation:
    """A directed edge ``source --type--> target``; the core adds the inverse."""

    source: EntityRef
    type: str
    target: EntityRef


@dataclass(frozen=True, slots=True)
class ResourceEvent:
    """An OpenChoreo change notification: a hint to re-fetch one resource, never trusted as data."""

    kind: str
    name: str
    namespace: str | None
    action: str


@dataclass(slots=True)
class Refetched:
    """A family's answer to a :class:`ResourceEvent`.

    ``resources`` are mapped like a full sync's (empty when the object is gone); ``collection``
    names the collection they belong to so the engine can replace exactly the entities that came
    from them; ``gone`` is True when the API answered 404 (``confirmed`` when that was checked).
    """

    collection: Collection
    origin: str
    gone: bool = False
    source: str | None = None
    """When ``gone``: the ``source_id`` of the vanished resource, if it is not the event's own
    (a workload event whose component is gone names the component here)."""
    confirmed: bool = False
    """When ``gone``: the family checked that the 404 means the resource is gone and not that the
    API cannot see it (the resource's namespace still answers; a Namespace is no longer in the
    namespace list): :func:`~openchoreo_sync.kit.fetching.confirm_gone` and
    :func:`~openchoreo_sync.kit.fetching.confirm_namespace_gone`. An unconfirmed ``gone`` removes
    nothing: the entities stay as they are and the next full sync decides."""
