"""OpenChoreo DeploymentPipeline → Backstage ``DeploymentPipeline`` (custom kind, core mapping §6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync import Entity, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import base, managed_labels, provenance, put, require_valid_identity, tags
from openchoreo_sync.kit.refs import domain_ref_value


def _env_name(ref: Any) -> str:
    """An environment ref is ``{kind, name}``; a plain string is accepted as the name itself."""
    if isinstance(ref, str):
        return ref
    return cr.text(cr.mapping(ref).get("name"))


def promotion_paths(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{sourceEnvironment, targetEnvironments: [{name}]}]``: names only, approval flags dropped."""
    paths = spec.get("promotionPaths")
    out: list[dict[str, Any]] = []
    for path in paths if isinstance(paths, list) else []:
        path = cr.mapping(path)
        targets = path.get("targetEnvironmentRefs")
        names = [_env_name(t) for t in (targets if isinstance(targets, list) else [])]
        out.append(
            {
                "sourceEnvironment": _env_name(path.get("sourceEnvironmentRef")),
                "targetEnvironments": [{"name": n} for n in names if n],
            }
        )
    return out


def map_pipeline(resource: Resource, ctx: SyncContext) -> list[Entity]:
    body = resource.body
    name = cr.name_of(body)
    namespace = resource.namespace or cr.text(cr.metadata(body).get("namespace"))
    require_valid_identity(resource, name, namespace)
    annotations = provenance()
    annotations["openchoreo.io/namespace"] = namespace
    put(annotations, "openchoreo.io/created-at", cr.created_at(body))
    annotations["openchoreo.io/status"] = cr.ready_status(body)
    put(annotations, "openchoreo.io/deletion-timestamp", cr.deletion_timestamp(body))
    return [
        base(
            "DeploymentPipeline",
            name,
            namespace,
            title=cr.title_of(body),
            description=cr.description_of(body) or f"Deployment pipeline {name}",
            tag_list=tags("openchoreo", "deployment-pipeline", "platform-engineering"),
            annotations=annotations,
            labels=managed_labels(**{"openchoreo.io/deployment-pipeline": "true"}),
            spec={
                "namespaceName": namespace,
                "domain": domain_ref_value(namespace),
                "promotionPaths": promotion_paths(cr.spec(body)),
            },
        )
    ]
