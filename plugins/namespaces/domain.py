"""OpenChoreo Namespace → Backstage ``Domain`` (mapping-entities-core.md §1)."""

from __future__ import annotations

from openchoreo_sync import Entity, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import base, managed_labels, provenance, put, require_valid_identity, tags


def map_namespace(resource: Resource, ctx: SyncContext) -> list[Entity]:
    """One Domain per namespace, with no ``metadata.namespace`` and never a deletion-timestamp annotation."""
    body = resource.body
    name = cr.name_of(body)
    require_valid_identity(resource, name, None)
    annotations = provenance()
    annotations["openchoreo.io/namespace"] = name
    put(annotations, "openchoreo.io/created-at", cr.created_at(body))
    put(annotations, "openchoreo.io/status", cr.text(cr.mapping(body.get("status")).get("phase")))
    return [
        base(
            "Domain",
            name,
            None,
            title=cr.title_of(body),
            description=cr.description_of(body) or name,
            tag_list=tags("openchoreo", "namespace", "domain"),
            annotations=annotations,
            labels=managed_labels(),
            spec={"owner": cr.resolve_owner(body, default=ctx.default_owner)},
        )
    ]
