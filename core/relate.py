"""Relate: gather every plugin's relations into one graph, add inverses, and count dangling targets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .build import describe_error
from .context import SyncContext
from .model import Entity, EntityRef, Relation
from .plugins_manager import LoadedPlugins
from .relation_graph import RelationGraph
from .snapshot import EntityIndex


@dataclass
class RelateReport:
    graph: RelationGraph
    """every relation of the snapshot; entities get theirs when they are written"""
    relations: int = 0
    dangling: Counter[str] = field(default_factory=Counter)
    """"<relation type> -> <target kind>" -> count of references to entities not in the snapshot"""
    failures: dict[str, str] = field(default_factory=dict)


def relate_entities(entities: Mapping[EntityRef, Entity], plugins: LoadedPlugins, ctx: SyncContext) -> RelateReport:
    """Compute the full two-way relation graph of ``entities`` from every plugin's relations.

    The entities are not changed: their ``relations`` come from ``report.graph`` when they are
    serialized (``graph.with_relations``) or, for callers that want them in place, ``graph.attach``.
    Relators' results are consumed as they are produced, never collected first.
    """
    graph = RelationGraph(entities)
    report = RelateReport(graph)
    index = EntityIndex(entities)
    inverse: Mapping[str, str] = plugins.inverse
    for relator in plugins.each("relate"):
        try:
            produced: Iterable[Relation] | None = relator(entities=index, ctx=ctx)
            for relation in produced or ():
                if graph.relate(relation.source, relation.type, relation.target, inverse.get(relation.type)) is False:
                    report.dangling[f"{relation.type} -> {relation.target.split(':', 1)[0]}"] += 1
        except Exception as exc:  # a broken relator loses its relations, not the run
            report.failures[relator.plugin] = describe_error(exc)
            ctx.log.error("relate failed", plugin=relator.plugin, error=describe_error(exc))
    graph.seal()
    report.relations = len(graph)
    return report
