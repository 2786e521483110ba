"""OpenChoreo's custom relations for Environments, DeploymentPipelines and notification channels.

These mirror the official module's catalog processors (platform doc §20.3): like them they act
on every entity of the kind in the snapshot, whoever produced it, and report one direction only
(the core adds ``hasPart``/``hosts``/``deployedBy``/``notifies``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openchoreo_sync import EntityIndex, Relation, entity_ref, make_ref, normalize_ref
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import CLUSTER_NAMESPACE
from openchoreo_sync.relations import DEPLOYS_TO, HOSTED_ON, NOTIFIED_BY, PART_OF

from .channel import KIND as CHANNEL_KIND
from .channel import spec_problem


def _namespace(entity: Mapping[str, Any]) -> str:
    return cr.text(entity["metadata"].get("namespace")) or "default"


def _spec(entity: Mapping[str, Any]) -> Mapping[str, Any]:
    return cr.mapping(entity.get("spec"))


def _domain(source: str, entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``partOf`` the Domain named by ``spec.domain`` (``default/<ns>``); an unparsable ref is skipped."""
    domain = cr.text(_spec(entity).get("domain"))
    if not domain:
        return
    try:
        target = normalize_ref(domain, default_kind="domain", default_namespace=_namespace(entity))
    except ValueError:
        return
    yield Relation(source, PART_OF, target)


def environment_relations(entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``partOf`` its Domain and ``hostedOn`` its (Cluster)Dataplane; nothing without ``spec.type``."""
    spec = _spec(entity)
    if not spec.get("type"):
        return
    source = entity_ref(entity)
    yield from _domain(source, entity)
    plane = cr.text(spec.get("dataPlaneRef"))
    if plane:
        annotations = cr.mapping(entity["metadata"].get("annotations"))
        plane_kind = cr.text(annotations.get("openchoreo.io/data-plane-ref-kind"))
        if plane_kind.strip().lower() == "clusterdataplane":
            yield Relation(source, HOSTED_ON, make_ref("clusterdataplane", CLUSTER_NAMESPACE, plane))
        else:
            yield Relation(source, HOSTED_ON, make_ref("dataplane", _namespace(entity), plane))


def pipeline_relations(entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``partOf`` its Domain and ``deploysTo`` each distinct environment of its promotion paths."""
    source = entity_ref(entity)
    yield from _domain(source, entity)
    seen: dict[str, None] = {}
    paths = _spec(entity).get("promotionPaths")
    for path in paths if isinstance(paths, list) else []:
        path_map = cr.mapping(path)
        seen.setdefault(cr.text(path_map.get("sourceEnvironment")), None)
        targets = path_map.get("targetEnvironments")
        for target in targets if isinstance(targets, list) else []:
            seen.setdefault(cr.text(cr.mapping(target).get("name")), None)
    for env in seen:
        if env:
            yield Relation(source, DEPLOYS_TO, make_ref("environment", _namespace(entity), env))


def channel_relations(entity: Mapping[str, Any]) -> Iterator[Relation]:
    """``notifiedBy`` its environment (same namespace); none for a spec the processor would reject."""
    spec = _spec(entity)
    if spec_problem(spec) is not None:
        return
    env = cr.text(spec.get("environment"))
    yield Relation(entity_ref(entity), NOTIFIED_BY, make_ref("environment", _namespace(entity), env))


def relate_all(entities: EntityIndex) -> list[Relation]:
    relations: list[Relation] = []
    for entity in entities.by_kind("Environment"):
        relations.extend(environment_relations(entity))
    for entity in entities.by_kind("DeploymentPipeline"):
        relations.extend(pipeline_relations(entity))
    for entity in entities.by_kind(CHANNEL_KIND):
        relations.extend(channel_relations(entity))
    return relations
