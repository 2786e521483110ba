"""Keep OpenChoreo's relations when Backstage only understands its built-in ones.

Backstage computes relations itself, from spec fields of its built-in kinds; a ``Resource`` that
stands in for an ``Environment`` has none of OpenChoreo's fields, and a stock Backstage knows no
``deploysTo``. So each relation that touches a converted entity (or, without OpenChoreo's
processors, any OpenChoreo relation) is written into the built-in fields that yield the closest
built-in relation between the *same two entities*:

* ``partOf`` of a converted entity -> its ``spec.system`` (Backstage: ``partOf`` / ``hasPart``);
* ``ownedBy`` of a converted entity -> its ``spec.owner`` (``ownedBy`` / ``ownerOf``);
* every other relation ``A -type-> B`` -> ``A.spec.dependsOn: [B]`` when A is a Component or
  Resource, else ``B.spec.dependencyOf: [A]`` when B is one (``dependsOn`` / ``dependencyOf``).

The precise type is kept on the declaring entity in the ``openchoreo.io/relations`` annotation
(JSON list of ``{type, source, target}``). A relation between two kinds that have neither field
(e.g. System -> Domain with a custom type) cannot be expressed and is counted as lost.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from openchoreo_sync import Entity, entity_ref
from openchoreo_sync import relations as rel

RELATIONS_ANNOTATION = "openchoreo.io/relations"


def relations_note(notes: list[dict[str, str]]) -> str:
    """``json.dumps(notes, separators=(",", ":"), sort_keys=True)``, the annotation's text, for
    ~7x less CPU (~1 against ~7 µs a note list; 10,761 of them at 10k components).

    orjson writes the same bytes as the standard library's compact, ASCII-escaped form whenever
    its output is ASCII without DEL: both escape ``"``, ``\\`` and C0 controls alike and neither
    escapes ``/``. Anything else (text beyond ASCII or DEL, which ``json`` escapes and orjson does
    not; a lone surrogate, which orjson refuses) takes ``json`` itself."""
    try:
        raw = orjson.dumps(notes, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        pass
    else:
        if raw.isascii() and b"\x7f" not in raw:
            return raw.decode()
    return json.dumps(notes, separators=(",", ":"), sort_keys=True)


BUILTIN_RELATIONS: frozenset[str] = frozenset(
    {
        rel.OWNED_BY,
        rel.OWNER_OF,
        rel.PART_OF,
        rel.HAS_PART,
        rel.PROVIDES_API,
        rel.API_PROVIDED_BY,
        rel.CONSUMES_API,
        rel.API_CONSUMED_BY,
        rel.DEPENDS_ON,
        rel.DEPENDENCY_OF,
        rel.PARENT_OF,
        rel.CHILD_OF,
        rel.MEMBER_OF,
        rel.HAS_MEMBER,
    }
)
"""What Backstage computes from its own fields."""

FORWARD: frozenset[str] = frozenset(
    {
        rel.OWNED_BY,
        rel.PART_OF,
        rel.PROVIDES_API,
        rel.CONSUMES_API,
        rel.DEPENDS_ON,
        rel.CHILD_OF,
        rel.MEMBER_OF,
        rel.DEPLOYS_TO,
        rel.USES_PIPELINE,
        rel.HOSTED_ON,
        rel.OBSERVED_BY,
        rel.BUILDS_ON,
        rel.INSTANCE_OF,
        rel.USES_WORKFLOW,
        rel.NOTIFIES,
    }
)
"""One direction of each pair; the core adds the inverse, Backstage does the same."""

DEPENDENCY_KINDS = frozenset({"component", "resource"})
"""The built-in kinds whose spec has ``dependsOn`` / ``dependencyOf``."""


def is_forward(relation_type: str) -> bool:
    """True for the direction that is written down (unknown pairs: the alphabetically first)."""
    if relation_type in FORWARD:
        return True
    inverse = rel.inverse_of(relation_type)
    return inverse is None or (inverse not in FORWARD and relation_type <= inverse)


Forward = list[tuple[str, str, str]]
"""(source ref, relation type, target ref as written) of each forward relation, in entity order"""


def forward_relations(by_ref: Iterable[tuple[str, Entity]]) -> Forward:
    """The forward relations (:func:`is_forward`) of ``(ref, entity)`` pairs: the one walk over
    every relation (~94k at 10k components, of a few dozen types) that expressing them and
    counting the dangling ones share."""
    out: Forward = []
    append = out.append
    forward: dict[str, bool] = {}  # is_forward per relation type
    for source_ref, entity in by_ref:
        for relation in entity.get("relations") or ():
            kind = relation.get("type", "")
            if type(kind) is not str:
                kind = str(kind)
            written = forward.get(kind)
            if written is None:
                written = forward[kind] = is_forward(kind)
            if written:
                target = relation.get("targetRef", "")
                append((source_ref, kind, target if type(target) is str else str(target)))
    return out


@dataclass
class Expressed:
    """What the relation step did: counts by original type, and what it could not express."""

    as_system: Counter[str] = field(default_factory=Counter)
    as_owner: Counter[str] = field(default_factory=Counter)
    as_dependency: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    forward: Forward = field(default_factory=list)
    """every forward relation of the entities (:func:`forward_relations`), by published source ref"""

    def summary(self) -> dict[str, dict[str, int]]:
        return {
            name: dict(sorted(counter.items()))
            for name, counter in (
                ("spec.system", self.as_system),
                ("spec.owner", self.as_owner),
                ("dependsOn", self.as_dependency),
                ("lost", self.lost),
            )
            if counter
        }


def _kind(ref: str) -> str:
    return ref.split(":", 1)[0].lower()


def _append(spec: dict[str, Any], key: str, value: str) -> None:
    existing = spec.get(key)
    items = [v for v in existing if isinstance(v, str)] if isinstance(existing, list) else []
    if value not in items:
        items.append(value)
    spec[key] = items


def express_relations(
    entities: Iterable[Entity],
    ref_map: dict[str, str],
    converted: Collection[str],
    *,
    custom_everywhere: bool,
) -> tuple[list[Entity], Expressed]:
    """Write the relations of ``entities`` (their ``relations`` key, original refs) into fields.

    ``ref_map`` maps original -> published refs; ``converted`` are the published refs of disguised
    entities; ``custom_everywhere`` also expresses OpenChoreo relations between two entities that
    kept their kind (a Backstage without OpenChoreo's processors computes none of them).
    An entity that gains a field is copied first (the input may be the snapshot's own bodies).
    """
    by_ref = {entity_ref(e): e for e in entities}
    copied: set[str] = set(converted)  # converted entities are fresh copies already
    notes: dict[str, list[dict[str, str]]] = {}
    result = Expressed()

    def spec_of(ref: str) -> dict[str, Any]:
        entity = by_ref[ref]
        if ref not in copied:
            entity = {**entity, "metadata": dict(entity.get("metadata") or {}), "spec": dict(entity.get("spec") or {})}
            by_ref[ref] = entity
            copied.add(ref)
        spec: dict[str, Any] = entity.setdefault("spec", {})
        return spec

    result.forward = forward_relations(list(by_ref.items()))
    for source_ref, kind, target in result.forward:
        target_ref = ref_map.get(target)
        if target_ref is None or target_ref not in by_ref:
            continue
        source_converted = source_ref in converted
        touched = source_converted or target_ref in converted
        if not touched and (kind in BUILTIN_RELATIONS or not custom_everywhere):
            continue  # Backstage derives it from the fields the entity already has
        if source_converted and kind == rel.PART_OF and spec_of(source_ref).get("system") in (None, target_ref):
            spec_of(source_ref)["system"] = target_ref
            result.as_system[kind] += 1
            continue
        if source_converted and kind == rel.OWNED_BY:
            spec_of(source_ref)["owner"] = target_ref
            result.as_owner[kind] += 1
            continue
        note = {"type": kind, "source": source_ref, "target": target_ref}
        if _kind(source_ref) in DEPENDENCY_KINDS:
            _append(spec_of(source_ref), "dependsOn", target_ref)
            notes.setdefault(source_ref, []).append(note)
        elif _kind(target_ref) in DEPENDENCY_KINDS:
            _append(spec_of(target_ref), "dependencyOf", source_ref)
            notes.setdefault(target_ref, []).append(note)
        else:
            result.lost[kind] += 1
            continue
        result.as_dependency[kind] += 1
    for ref, items in notes.items():
        metadata = by_ref[ref]["metadata"]
        annotations = dict(metadata.get("annotations") or {})
        ordered = sorted(items, key=lambda n: (n["type"], n["source"], n["target"]))
        annotations[RELATIONS_ANNOTATION] = relations_note(ordered)
        metadata["annotations"] = annotations
    return list(by_ref.values()), result
