"""The ``component_types`` family: namespaced ComponentType, Trait, Workflow, ProjectType, ResourceType.

These are what platform engineers publish per namespace for developers to build on. Each becomes
a custom Backstage kind in its namespace, part of the namespace's Domain. The package ships a
second plugin, ``cluster_kinds`` (:mod:`.cluster`), for the cluster-scoped twins, which map with
the same functions. Both are tables on the plugin kit (:class:`~openchoreo_sync.kit.TableFamily`);
the entry points name ``family`` of this module and of :mod:`.cluster`.
"""

from __future__ import annotations

from collections.abc import Iterator

from openchoreo_sync import EntityIndex, Relation, SyncContext
from openchoreo_sync.kit import TableFamily
from openchoreo_sync.kit.endpoints import Endpoint
from openchoreo_sync.kit.refs import part_of_domain

from . import type_mappers
from .type_relations import builds_on, uses_workflow

KINDS = {
    "ComponentType": "ComponentType",
    "Trait": "TraitType",
    "Workflow": "Workflow",
    "ProjectType": "ProjectType",
    "ResourceType": "ResourceType",
}


def relations(entities: EntityIndex, ctx: SyncContext) -> Iterator[Relation]:
    """Every namespaced type is part of its Domain; component types use workflows; workflows build on planes."""
    for kind in KINDS.values():
        for entity in entities.by_kind(kind):
            if (domain := part_of_domain(entity)) is not None:
                yield domain
    for entity in entities.by_kind("ComponentType"):
        yield from uses_workflow(entity, cluster=False)
    for entity in entities.by_kind("Workflow"):
        if (plane := builds_on(entity, cluster=False)) is not None:
            yield plane


family = TableFamily(
    description="Namespaced component types, traits, workflows, project types and resource types",
    endpoints=(
        Endpoint("componenttypes", "ComponentType"),
        Endpoint("traits", "Trait"),
        Endpoint("workflows", "Workflow"),
        Endpoint("projecttypes", "ProjectType"),
        Endpoint("resourcetypes", "ResourceType"),
    ),
    mappers={
        "ComponentType": type_mappers.map_component_type,
        "Trait": type_mappers.map_trait,
        "Workflow": type_mappers.map_workflow,
        "ProjectType": type_mappers.map_project_type,
        "ResourceType": type_mappers.map_resource_type,
    },
    kinds=KINDS,
    relations=relations,
)
