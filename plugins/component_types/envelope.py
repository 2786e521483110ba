"""The entity envelope every OpenChoreo platform kind shares: apiVersion, metadata, annotations, tags.

The official module repeats the same metadata rules in every platform translator (title and
description fallbacks, the provider's managed-by annotations, created-at always present, the
deletion timestamp only while deleting, the managed label, the ``openchoreo`` first tag). They live
here once so the three platform families (``component_types``, ``cluster_kinds``,
``platform_planes``) cannot drift apart. It is a plain module, not a plugin: it has no hooks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openchoreo_sync.model import Entity, Resource
from openchoreo_sync.validation import is_dns_label, is_object_name, is_tag

API_VERSION = "backstage.io/v1alpha1"
PROVIDER_LOCATION = "provider:OpenChoreoEntityProvider"
CLUSTER_NAMESPACE = "openchoreo-cluster"
"""Backstage pseudo-namespace of every cluster-scoped OpenChoreo kind (they have no namespace)."""

# Annotation and label keys, spelled once.
MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
NAMESPACE = "openchoreo.io/namespace"
CREATED_AT = "openchoreo.io/created-at"
DELETION_TIMESTAMP = "openchoreo.io/deletion-timestamp"
MANAGED_LABEL = "openchoreo.io/managed"
DISPLAY_NAME = "openchoreo.dev/display-name"
DESCRIPTION = "openchoreo.dev/description"

FIRST_TAG = "openchoreo"
TYPE_TAIL_TAG = "platform-engineering"
"""Last tag of every type, trait and workflow kind."""
PLANE_TAIL_TAG = "infrastructure"
"""Last tag of every plane kind."""


def text(value: Any) -> str | None:
    """A string field of an API object, or None when it is absent or not a string.

    The API is schema-typed, so a non-string here is malformed input: treating it as absent keeps
    the entity valid instead of leaking a number or object into an annotation.
    """
    return value if isinstance(value, str) else None


def mapping(value: Any) -> Mapping[str, Any]:
    """A sub-object of an API object, or an empty mapping when absent or not an object."""
    return value if isinstance(value, Mapping) else {}


def object_metadata(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(body.get("metadata"))


def object_spec(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(body.get("spec"))


def object_annotation(body: Mapping[str, Any], key: str) -> str | None:
    return text(mapping(object_metadata(body).get("annotations")).get(key))


def object_label(body: Mapping[str, Any], key: str) -> str | None:
    return text(mapping(object_metadata(body).get("labels")).get(key))


def checked_name(resource: Resource) -> str:
    """The resource's name, which must already be a valid Backstage entity name.

    Names are copied verbatim (refs elsewhere point at them), so an invalid one cannot be repaired;
    raising names the resource and the rule, and the core skips just this resource.
    """
    name = resource.name
    if not is_object_name(name):
        raise ValueError(
            f"{resource.describe()}: metadata.name {name!r} is not a valid Backstage entity name "
            "(1-63 characters of [a-zA-Z0-9] separated by [-_.])"
        )
    return name


def checked_namespace(resource: Resource) -> str:
    """The OpenChoreo namespace of a namespaced resource, valid as a Backstage namespace."""
    namespace = resource.namespace or text(object_metadata(resource.body).get("namespace"))
    if namespace is None or not is_dns_label(namespace):
        raise ValueError(
            f"{resource.describe()}: namespace {namespace!r} is not a valid Backstage namespace "
            "(a lower-case DNS label: a-z, 0-9, '-', 1-63 characters)"
        )
    return namespace


def domain_of(namespace: str) -> str:
    """``spec.domain`` of a namespaced platform entity: the namespace's Domain lives in ``default``."""
    return f"default/{namespace}"


def base_annotations(body: Mapping[str, Any], namespace: str | None) -> dict[str, str]:
    """The leading annotations of every platform entity, in upstream order.

    ``namespace`` is None for cluster-scoped kinds, which carry no ``openchoreo.io/namespace``.
    created-at is always present (empty when the object has no timestamp), as upstream writes it.
    """
    annotations = {MANAGED_BY_LOCATION: PROVIDER_LOCATION, MANAGED_BY_ORIGIN_LOCATION: PROVIDER_LOCATION}
    if namespace is not None:
        annotations[NAMESPACE] = namespace
    annotations[CREATED_AT] = text(object_metadata(body).get("creationTimestamp")) or ""
    return annotations


def add_deletion_timestamp(annotations: dict[str, str], body: Mapping[str, Any]) -> None:
    """Mark an object that is being deleted; the key is omitted otherwise, never empty."""
    deleting = text(object_metadata(body).get("deletionTimestamp"))
    if deleting:
        annotations[DELETION_TIMESTAMP] = deleting


def valid_tags(*tags: str | None) -> list[str]:
    """Tags in order, leaving out the absent ones and any Backstage would reject.

    Only tags derived from API values (a workload type) can be invalid; dropping one keeps the
    entity, where upstream emits it and Backstage rejects the whole entity.
    """
    return [tag for tag in tags if tag and is_tag(tag)]


def envelope(
    *,
    kind: str,
    name: str,
    namespace: str,
    body: Mapping[str, Any],
    default_description: str,
    annotations: Mapping[str, str],
    tags: Iterable[str],
    spec: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
) -> Entity:
    """Assemble one entity: title falls back to the name, description to ``default_description``.

    An empty display-name or description annotation counts as absent, so the fallback applies
    (upstream's display-name helper returns "" when absent and the translators use ``||``).
    """
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "title": object_annotation(body, DISPLAY_NAME) or name,
        "description": object_annotation(body, DESCRIPTION) or default_description,
        "tags": list(tags),
        "annotations": dict(annotations),
        "labels": {MANAGED_LABEL: "true", **(labels or {})},
    }
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": dict(spec)}
