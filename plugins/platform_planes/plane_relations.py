"""Relations held by plane entities: ``partOf`` their Domain and ``observedBy`` their observability plane.

Forward directions only; the core adds ``hasPart`` and ``observes``. ``hosts`` (planes ← Environment)
and ``builds`` (workflow planes ← workflows) are held, and reported, by the other side.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openchoreo_sync import EntityIndex, Relation, SyncContext, entity_ref, relations
from openchoreo_sync.kit.entities import CLUSTER_NAMESPACE
from openchoreo_sync.kit.refs import entity_namespace, part_of_domain, resolve

NAMESPACED_PLANES = ("Dataplane", "WorkflowPlane", "ObservabilityPlane")
OBSERVED_NAMESPACED = ("Dataplane", "WorkflowPlane")
OBSERVED_CLUSTER = ("ClusterDataplane", "ClusterWorkflowPlane")


def observed_by(entity: Mapping[str, Any], *, cluster: bool) -> Relation | None:
    """``observedBy`` the plane in ``spec.observabilityPlaneRef``.

    A namespaced plane's ref defaults to kind ``observabilityplane`` in its own namespace; a cluster
    plane's to ``clusterobservabilityplane`` in ``openchoreo-cluster``. Blank or unparseable refs
    give no relation.
    """
    target = resolve(
        entity.get("spec", {}).get("observabilityPlaneRef"),
        default_kind="clusterobservabilityplane" if cluster else "observabilityplane",
        default_namespace=CLUSTER_NAMESPACE if cluster else entity_namespace(entity),
    )
    return Relation(entity_ref(entity), relations.OBSERVED_BY, target) if target else None


def plane_relations(entities: EntityIndex, ctx: SyncContext) -> Iterator[Relation]:
    """Every relation the plane kinds hold."""
    for kind in NAMESPACED_PLANES:
        for entity in entities.by_kind(kind):
            domain = part_of_domain(entity)
            if domain is not None:
                yield domain
    for kinds, cluster in ((OBSERVED_NAMESPACED, False), (OBSERVED_CLUSTER, True)):
        for kind in kinds:
            for entity in entities.by_kind(kind):
                observer = observed_by(entity, cluster=cluster)
                if observer is not None:
                    yield observer
