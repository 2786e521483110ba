"""Backstage's standard relations for its built-in kinds, computed from spec fields.

A real Backstage derives these in its BuiltinKindsEntityProcessor (ownedBy from ``spec.owner``,
partOf from ``spec.system`` ...). The embedded catalog must show the same relations, and the rule
is about Backstage, not about any OpenChoreo kind, so it lives in the core as an always-on plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import relations as rel
from .hookspecs import hookimpl
from .model import Relation, normalize_ref
from .plugin_info import PluginInfo
from .snapshot import EntityIndex

NAME = "backstage_relations"

# kind -> [(spec field, default target kind or None, relation type)]
_FIELDS: dict[str, list[tuple[str, str | None, str]]] = {
    "component": [
        ("owner", "group", rel.OWNED_BY),
        ("subcomponentOf", "component", rel.PART_OF),
        ("providesApis", "api", rel.PROVIDES_API),
        ("consumesApis", "api", rel.CONSUMES_API),
        ("dependsOn", None, rel.DEPENDS_ON),
        ("dependencyOf", None, rel.DEPENDENCY_OF),
        ("system", "system", rel.PART_OF),
    ],
    "api": [("owner", "group", rel.OWNED_BY), ("system", "system", rel.PART_OF)],
    "resource": [
        ("owner", "group", rel.OWNED_BY),
        ("dependsOn", None, rel.DEPENDS_ON),
        ("dependencyOf", None, rel.DEPENDENCY_OF),
        ("system", "system", rel.PART_OF),
    ],
    "system": [("owner", "group", rel.OWNED_BY), ("domain", "domain", rel.PART_OF)],
    "domain": [("owner", "group", rel.OWNED_BY), ("subdomainOf", "domain", rel.PART_OF)],
    "group": [
        ("parent", "group", rel.CHILD_OF),
        ("children", "group", rel.PARENT_OF),
        ("members", "user", rel.HAS_MEMBER),
    ],
    "user": [("memberOf", "group", rel.MEMBER_OF)],
    "template": [("owner", "group", rel.OWNED_BY)],
}


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Backstage's standard relations (ownedBy, partOf, providesApi ...) from spec fields",
        role="core",
        inputs_only=True,
    )


_NORMALISED_MAX = 4_096
"""Distinct targets :func:`relate` remembers at once (a few hundred kB at most)."""


def _targets(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value:
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str) and v)


@hookimpl
def relate(entities: EntityIndex) -> Iterator[Relation]:
    """A generator: the core consumes relations as they come instead of holding them all.

    A target written the same way from the same namespace normalises to the same ref, and most
    are (every component of a project names its system and, usually, one owner): each distinct
    (target, default kind, namespace) is parsed once per call, ``None`` remembering a target
    that does not parse. The table is emptied when it reaches ``_NORMALISED_MAX`` entries, so
    a world of unique targets (one API per endpoint) holds a few thousand, not all of them;
    entities come namespace by namespace, so the repeated ones stay in it.
    """
    normalised: dict[tuple[str, str | None, str], str | None] = {}
    for ref, entity in entities.items():
        fields = _FIELDS.get(str(entity.get("kind", "")).lower())
        spec = entity.get("spec")
        if not fields or not isinstance(spec, dict):
            continue
        namespace = entity["metadata"].get("namespace") or "default"
        for field_name, default_kind, relation_type in fields:
            for target in _targets(spec.get(field_name)):
                key = (target, default_kind, namespace)
                if key in normalised:
                    target_ref = normalised[key]
                else:
                    try:
                        target_ref = normalize_ref(target, default_kind=default_kind, default_namespace=namespace)
                    except ValueError:
                        target_ref = None  # Backstage rejects such an entity's relation the same way: dropped
                    if len(normalised) >= _NORMALISED_MAX:
                        normalised.clear()
                    normalised[key] = target_ref
                if target_ref is not None:
                    yield Relation(ref, relation_type, target_ref)
