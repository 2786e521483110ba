"""Relate: gather every plugin's relations, add inverses, attach them, and count dangling targets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .build import describe_error
from .context import SyncContext
from .hookcall import call_impl
from .model import Entity, EntityRef, Relation
from .plugins_manager import LoadedPlugins
from .snapshot import EntityIndex


@dataclass
class RelateReport:
    relations: int = 0
    dangling: Counter[str] = field(default_factory=Counter)
    """"<relation type> -> <target kind>" -> count of references to entities not in the snapshot"""
    failures: dict[str, str] = field(default_factory=dict)


def relate_entities(entities: dict[EntityRef, Entity], plugins: LoadedPlugins, ctx: SyncContext) -> RelateReport:
    """Replace every entity's ``relations`` with the full two-way graph computed by the plugins."""
    report = RelateReport()
    index = EntityIndex(entities)
    edges: dict[EntityRef, set[tuple[str, EntityRef]]] = {ref: set() for ref in entities}
    inverse: Mapping[str, str] = plugins.inverse
    for impl in plugins.impls("relate"):
        try:
            produced: Iterable[Relation] | None = call_impl(impl, entities=index, ctx=ctx)
            for relation in produced or ():
                _add(relation, edges, inverse, report)
        except Exception as exc:  # a broken relator loses its relations, not the run
            report.failures[impl.plugin_name] = describe_error(exc)
            ctx.log.error("relate failed", plugin=impl.plugin_name, error=describe_error(exc))
    # Equal relations share one dict (tens of thousands of entities are ``ownedBy`` the same group),
    # and each entity's edge set is dropped as soon as its list is built: both bound peak memory.
    # The dicts are read-only by contract: outputs copy an entity before changing it.
    shared: dict[tuple[str, EntityRef], dict[str, str]] = {}
    for ref, entity in entities.items():
        pairs = sorted(edges.pop(ref))
        entity["relations"] = [shared.setdefault(pair, {"type": pair[0], "targetRef": pair[1]}) for pair in pairs]
        report.relations += len(pairs)
    return report


def _add(
    relation: Relation,
    edges: dict[EntityRef, set[tuple[str, EntityRef]]],
    inverse: Mapping[str, str],
    report: RelateReport,
) -> None:
    source_edges = edges.get(relation.source)
    if source_edges is None:
        return  # a relation from an entity that is not in the snapshot has nowhere to live
    source_edges.add((relation.type, relation.target))
    target_edges = edges.get(relation.target)
    if target_edges is None:
        report.dangling[f"{relation.type} -> {relation.target.split(':', 1)[0]}"] += 1
        return
    back = inverse.get(relation.type)
    if back:
        target_edges.add((back, relation.source))
