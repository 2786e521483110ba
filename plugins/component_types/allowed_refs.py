"""Normalise a (Cluster)ComponentType's ``allowedWorkflows`` / ``allowedTraits`` into ``{kind, name}``.

Older CRs list bare names or ``Kind:name`` strings, newer ones ``{kind, name}`` objects; the catalog
entity always carries objects so the UI and the relation step read one shape. The default kind is
what the owning type implies (``Workflow`` for a namespaced type, ``ClusterWorkflow`` for a cluster
one), because an unqualified name resolves in the type's own scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WORKFLOW_KINDS = ("ComponentWorkflow", "Workflow", "ClusterWorkflow")
"""``Kind:`` prefixes recognised in an allowedWorkflows string (ComponentWorkflow is the legacy name)."""
TRAIT_KINDS = ("Trait", "ClusterTrait")


def _one(entry: Any, default_kind: str, known_kinds: tuple[str, ...]) -> dict[str, str] | None:
    if isinstance(entry, str):
        prefix, sep, rest = entry.partition(":")
        if sep and prefix in known_kinds:
            return {"kind": prefix, "name": rest} if rest else None
        return {"kind": default_kind, "name": entry} if entry else None
    if isinstance(entry, Mapping):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            return None
        kind = entry.get("kind")
        return {"kind": kind if isinstance(kind, str) and kind else default_kind, "name": name}
    return None


def normalise_allowed(value: Any, *, default_kind: str, known_kinds: tuple[str, ...]) -> list[dict[str, str]] | None:
    """The normalised list; None (key omitted) when the CR has no such list, ``[]`` when it is empty.

    Null entries and entries without a name are dropped; a ``Kind:rest`` string keeps every colon
    after the first in the name.
    """
    if not isinstance(value, list):
        return None
    normalised = (_one(entry, default_kind, known_kinds) for entry in value)
    return [entry for entry in normalised if entry is not None]
