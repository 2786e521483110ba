"""The ``cluster_kinds`` family: the cluster-scoped twins of the platform types.

ClusterComponentType, ClusterTrait (→ ClusterTraitType), ClusterWorkflow, ClusterProjectType and
ClusterResourceType are shared by every namespace, so their entities live in the
``openchoreo-cluster`` pseudo-namespace and belong to no Domain. They map with the same functions as
their namespaced kinds in cluster scope; only the endpoints and relations differ. A plugin of its
own (enabled and disabled on its own) shipped in the ``component_types`` package.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from openchoreo_sync import EntityIndex, Relation, SyncContext
from openchoreo_sync.kit import TableFamily
from openchoreo_sync.kit.endpoints import Endpoint

from . import type_mappers
from .type_relations import builds_on, uses_workflow


def relations(entities: EntityIndex, ctx: SyncContext) -> Iterator[Relation]:
    """ClusterComponentType → usesWorkflow, ClusterWorkflow → buildsOn; the other three have none."""
    for entity in entities.by_kind("ClusterComponentType"):
        yield from uses_workflow(entity, cluster=True)
    for entity in entities.by_kind("ClusterWorkflow"):
        if (plane := builds_on(entity, cluster=True)) is not None:
            yield plane


family = TableFamily(
    description="Cluster-scoped component types, traits, workflows, project types and resource types",
    endpoints=(
        Endpoint("clustercomponenttypes", "ClusterComponentType", cluster=True),
        Endpoint("clustertraits", "ClusterTrait", cluster=True),
        Endpoint("clusterworkflows", "ClusterWorkflow", cluster=True),
        Endpoint("clusterprojecttypes", "ClusterProjectType", cluster=True),
        Endpoint("clusterresourcetypes", "ClusterResourceType", cluster=True),
    ),
    mappers={
        "ClusterComponentType": partial(type_mappers.map_component_type, cluster=True),
        "ClusterTrait": partial(type_mappers.map_trait, cluster=True),
        "ClusterWorkflow": partial(type_mappers.map_workflow, cluster=True),
        "ClusterProjectType": partial(type_mappers.map_project_type, cluster=True),
        "ClusterResourceType": partial(type_mappers.map_resource_type, cluster=True),
    },
    kinds={
        "ClusterComponentType": "ClusterComponentType",
        "ClusterTrait": "ClusterTraitType",
        "ClusterWorkflow": "ClusterWorkflow",
        "ClusterProjectType": "ClusterProjectType",
        "ClusterResourceType": "ClusterResourceType",
    },
    relations=relations,
)
