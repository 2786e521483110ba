"""Build Backstage entities the way every OpenChoreo translator does, and never an invalid one.

The official module stamps the same provenance annotations and managed label on every entity and
builds platform kinds with one envelope (title and description fallbacks, created-at always
present, the deletion timestamp only while deleting); they live here once so families cannot drift
apart. Backstage rejects a whole entity for one bad tag or name, so:

- **Tags** are sanitised, never dropped silently for a fixable reason: lower-cased, each run of
  characters outside ``[a-z0-9:+#]`` becomes one ``-``, trimmed to 63 characters; a value with
  nothing valid left (or an absent one) is left out. A valid tag is returned unchanged.
- **Names and namespaces** cannot be repaired (other entities refer to them), so
  :func:`checked_name` / :func:`checked_namespace` raise ``ValueError`` naming the resource and the
  rule; the core reports that one resource and skips it.

Example::

    from openchoreo_sync.kit import cr, entities

    def map_widget(resource, ctx):
        name = entities.checked_name(resource)
        namespace = entities.checked_namespace(resource)
        return entities.envelope(
            kind="Widget", name=name, namespace=namespace, body=resource.body,
            default_description=f"{name} widget",
            annotations=entities.base_annotations(resource.body, namespace),
            tags=entities.tags("openchoreo", "widget", cr.spec(resource.body).get("flavour")),
            spec={"owner": cr.resolve_owner(resource.body, default=ctx.default_owner)},
        )
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import Entity, Resource
from ..validation import is_dns_label, is_object_name, is_tag
from . import cr

__all__ = [
    "API_VERSION",
    "CLUSTER_NAMESPACE",
    "CREATED_AT",
    "DELETION_TIMESTAMP",
    "MANAGED_BY_LOCATION",
    "MANAGED_BY_ORIGIN_LOCATION",
    "MANAGED_LABEL",
    "NAMESPACE_ANNOTATION",
    "PROVIDER_LOCATION",
    "add_deletion_timestamp",
    "base",
    "base_annotations",
    "checked_name",
    "checked_namespace",
    "envelope",
    "is_dns_label",
    "is_object_name",
    "is_tag",
    "managed_labels",
    "provenance",
    "put",
    "require_valid_identity",
    "tag",
    "tags",
]

API_VERSION = "backstage.io/v1alpha1"
PROVIDER_LOCATION = "provider:OpenChoreoEntityProvider"
CLUSTER_NAMESPACE = "openchoreo-cluster"
"""Backstage pseudo-namespace of every cluster-scoped OpenChoreo kind (they have no namespace)."""

MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
NAMESPACE_ANNOTATION = "openchoreo.io/namespace"
CREATED_AT = "openchoreo.io/created-at"
DELETION_TIMESTAMP = "openchoreo.io/deletion-timestamp"
MANAGED_LABEL = "openchoreo.io/managed"

_TAG_INVALID = re.compile(r"[^a-z0-9:+#]+")


def provenance() -> dict[str, str]:
    """The two ``managed-by`` annotations every entity starts with (insertion order matters for YAML)."""
    return {MANAGED_BY_LOCATION: PROVIDER_LOCATION, MANAGED_BY_ORIGIN_LOCATION: PROVIDER_LOCATION}


def managed_labels(**extra: str) -> dict[str, str]:
    return {MANAGED_LABEL: "true", **extra}


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only when ``value`` is truthy: the JS conditional spread the reference describes."""
    if value:
        target[key] = value


def tag(value: Any) -> str:
    """``value`` as a valid Backstage tag, or ``''`` when nothing valid is left (or it is no string)."""
    if not isinstance(value, str):
        return ""
    if is_tag(value):
        return value
    return _TAG_INVALID.sub("-", value.lower()).strip("-")[:63].rstrip("-")


def tags(*values: Any) -> list[str]:
    """The tag list in order, sanitised, leaving out absent values and any that sanitise to nothing."""
    return [t for t in (tag(v) for v in values) if t]


def base(
    kind: str,
    name: str,
    namespace: str | None,
    *,
    title: str,
    description: str | None,
    tag_list: list[str],
    annotations: dict[str, str],
    labels: dict[str, str],
    spec: dict[str, Any],
) -> Entity:
    """Assemble one entity; ``namespace`` None leaves it out (Backstage's ``default``), as for Domains."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["title"] = title
    if description:
        meta["description"] = description
    meta["tags"] = tag_list
    meta["annotations"] = annotations
    meta["labels"] = labels
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


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
    """The platform kinds' entity: title falls back to the name, description to ``default_description``.

    An empty display-name or description annotation counts as absent, so the fallback applies
    (upstream's display-name helper returns "" when absent and the translators use ``||``).
    """
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "title": cr.annotation(body, cr.DISPLAY_NAME) or name,
        "description": cr.annotation(body, cr.DESCRIPTION) or default_description,
        "tags": list(tags),
        "annotations": dict(annotations),
        "labels": {MANAGED_LABEL: "true", **(labels or {})},
    }
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": dict(spec)}


def base_annotations(body: Mapping[str, Any], namespace: str | None) -> dict[str, str]:
    """The leading annotations of every platform entity, in upstream order.

    ``namespace`` is None for cluster-scoped kinds, which carry no ``openchoreo.io/namespace``.
    created-at is always present (empty when the object has no timestamp), as upstream writes it.
    """
    annotations = provenance()
    if namespace is not None:
        annotations[NAMESPACE_ANNOTATION] = namespace
    annotations[CREATED_AT] = cr.created_at(body)
    return annotations


def add_deletion_timestamp(annotations: dict[str, str], body: Mapping[str, Any]) -> None:
    """Mark an object that is being deleted; the key is omitted otherwise, never empty."""
    put(annotations, DELETION_TIMESTAMP, cr.deletion_timestamp(body))


def checked_name(resource: Resource, name: str | None = None) -> str:
    """``name`` (default: the resource's own), which must already be a valid Backstage entity name.

    Names are copied verbatim (refs elsewhere point at them), so an invalid one cannot be repaired;
    raising names the resource and the rule, and the core skips just this resource.
    """
    field = "metadata.name" if name is None else "entity name"
    name = resource.name if name is None else name
    if not is_object_name(name):
        raise ValueError(
            f"{resource.describe()}: {field} {name!r} is not a valid Backstage entity name "
            "(1-63 characters of [a-zA-Z0-9] separated by [-_.])"
        )
    return name


def checked_namespace(resource: Resource, namespace: str | None = None) -> str:
    """``namespace`` (default: the resource's OpenChoreo namespace), valid as a Backstage namespace."""
    if namespace is None:
        namespace = resource.namespace or cr.namespace_of(resource.body)
    if not is_dns_label(namespace):
        raise ValueError(
            f"{resource.describe()}: namespace {namespace!r} is not a valid Backstage namespace "
            "(a lower-case DNS label of 1-63 characters)"
        )
    return namespace


def require_valid_identity(resource: Resource, name: str, namespace: str | None) -> None:
    """Both checks at once, for translators that compute the name and namespace themselves."""
    checked_name(resource, name)
    if namespace is not None:
        checked_namespace(resource, namespace)
