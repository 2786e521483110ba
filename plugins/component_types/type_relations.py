"""Relations held by component types and workflows (both scopes), as the upstream processors derive them.

Only the forward direction is returned; the core adds every inverse (``workflowUsedBy``, ``builds``,
``hasPart``). ``allowedTraits`` yields no relation: upstream treats it as information only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openchoreo_sync import Relation, entity_ref, make_ref, relations
from openchoreo_sync.kit.cr import text
from openchoreo_sync.kit.entities import CLUSTER_NAMESPACE
from openchoreo_sync.kit.refs import entity_namespace

from .type_mappers import WORKFLOW_PLANE_REF, WORKFLOW_PLANE_REF_KIND


def uses_workflow(entity: Mapping[str, Any], *, cluster: bool) -> Iterator[Relation]:
    """``usesWorkflow`` per ``spec.allowedWorkflows`` entry.

    The kind is lower-cased, defaulting to the scope's workflow kind. A namespaced type resolves
    every kind but ``clusterworkflow`` in its own namespace (a legacy ``componentworkflow`` too); a
    cluster type resolves every entry in ``openchoreo-cluster``.
    """
    source = entity_ref(entity)
    default_kind = "clusterworkflow" if cluster else "workflow"
    own_namespace = entity_namespace(entity, cluster=cluster)
    allowed = entity.get("spec", {}).get("allowedWorkflows")
    for entry in allowed if isinstance(allowed, list) else ():
        if isinstance(entry, str):
            kind, name = default_kind, entry
        elif isinstance(entry, Mapping):
            kind = (text(entry.get("kind")) or default_kind).lower()
            name = text(entry.get("name"))
        else:
            continue
        if not name:
            continue
        namespace = CLUSTER_NAMESPACE if cluster or kind == "clusterworkflow" else own_namespace
        yield Relation(source, relations.USES_WORKFLOW, make_ref(kind, namespace, name))


def builds_on(entity: Mapping[str, Any], *, cluster: bool) -> Relation | None:
    """``buildsOn`` the workflow plane named in the entity's annotations (not its spec).

    A namespaced Workflow trims and lower-cases the kind annotation (default ``WorkflowPlane``) and
    ignores kinds that are not planes; a ClusterWorkflow ignores the kind and always targets a
    ClusterWorkflowPlane.
    """
    annotations = entity["metadata"].get("annotations") or {}
    plane = text(annotations.get(WORKFLOW_PLANE_REF)).strip()
    if not plane:
        return None
    if cluster:
        kind = "clusterworkflowplane"
    else:
        kind = (text(annotations.get(WORKFLOW_PLANE_REF_KIND)).strip() or "WorkflowPlane").lower()
        if kind not in ("workflowplane", "clusterworkflowplane"):
            return None
    namespace = CLUSTER_NAMESPACE if kind == "clusterworkflowplane" else entity_namespace(entity)
    return Relation(entity_ref(entity), relations.BUILDS_ON, make_ref(kind, namespace, plane))
