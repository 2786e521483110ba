"""OpenChoreo Environment → Backstage ``Environment`` (custom kind, mapping-entities-core.md §5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync import Entity, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import base, managed_labels, provenance, put, require_valid_identity, tags
from openchoreo_sync.kit.refs import domain_ref_value

_LISTENERS = ("http", "https")


def _listener(value: Any) -> dict[str, Any]:
    """Only ``host`` and ``port`` of a listener survive (``listenerName`` is dropped upstream)."""
    listener = cr.mapping(value)
    return {key: listener[key] for key in ("host", "port") if listener.get(key) is not None}


def _gateway_endpoint(value: Any) -> dict[str, Any]:
    """``name``/``namespace`` plus the http/https listeners; ``tls`` is not copied by the official module."""
    endpoint = cr.mapping(value)
    out: dict[str, Any] = {k: endpoint[k] for k in ("name", "namespace") if endpoint.get(k) is not None}
    for key in _LISTENERS:
        if isinstance(endpoint.get(key), Mapping):
            out[key] = _listener(endpoint[key])
    return out


def reshape_gateway(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{ingress: {external?, internal?}}`` from ``spec.gateway.ingress``; None when there is no ingress."""
    ingress = cr.mapping(spec.get("gateway")).get("ingress")
    if not isinstance(ingress, Mapping):
        return None
    sides = ("external", "internal")
    return {"ingress": {s: _gateway_endpoint(ingress[s]) for s in sides if isinstance(ingress.get(s), Mapping)}}


def external_host(spec: Mapping[str, Any]) -> str:
    """The full external HTTP host, which the official module calls the DNS prefix."""
    external = cr.mapping(cr.mapping(cr.mapping(spec.get("gateway")).get("ingress")).get("external"))
    return cr.text(cr.mapping(external.get("http")).get("host"))


def map_environment(resource: Resource, ctx: SyncContext) -> list[Entity]:
    body = resource.body
    name = cr.name_of(body)
    namespace = resource.namespace or cr.text(cr.metadata(body).get("namespace"))
    require_valid_identity(resource, name, namespace)
    spec = cr.spec(body)
    is_production = spec.get("isProduction")
    explicit = isinstance(is_production, bool)
    env_type = "production" if is_production is True else "non-production"
    plane = cr.mapping(spec.get("dataPlaneRef"))
    plane_name = cr.text(plane.get("name"))
    host = external_host(spec)

    annotations = provenance()
    annotations["openchoreo.io/environment"] = name
    annotations["openchoreo.io/namespace"] = namespace
    put(annotations, "openchoreo.io/environment-uid", cr.uid_of(body))
    put(annotations, "openchoreo.io/created-at", cr.created_at(body))
    annotations["openchoreo.io/status"] = cr.ready_status(body)
    put(annotations, "openchoreo.io/data-plane-ref", plane_name)
    put(annotations, "openchoreo.io/data-plane-ref-kind", cr.text(plane.get("kind")))
    put(annotations, "openchoreo.io/dns-prefix", host)
    if explicit:
        annotations["openchoreo.io/is-production"] = "true" if is_production else "false"
    put(annotations, "openchoreo.io/deletion-timestamp", cr.deletion_timestamp(body))

    labels = managed_labels(**({"openchoreo.io/environment-type": env_type} if explicit else {}))

    entity_spec: dict[str, Any] = {"type": env_type, "domain": domain_ref_value(namespace)}
    if explicit:
        entity_spec["isProduction"] = is_production
    put(entity_spec, "dataPlaneRef", plane_name)
    put(entity_spec, "dnsPrefix", host)
    gateway = reshape_gateway(spec)
    if gateway is not None:
        entity_spec["gateway"] = gateway

    return [
        base(
            "Environment",
            name,
            namespace,
            title=cr.title_of(body),
            description=cr.description_of(body) or f"{name} environment",
            tag_list=tags("openchoreo", "environment", env_type),
            annotations=annotations,
            labels=labels,
            spec=entity_spec,
        )
    ]
