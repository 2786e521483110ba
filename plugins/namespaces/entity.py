"""The Backstage side shared by every OpenChoreo translator: envelope, provenance, tags, name checks.

The official module stamps the same provenance annotations and managed label on every entity;
keeping them here means a change to the provider identity is one edit. The tag and name helpers
exist because Backstage rejects a whole entity for one bad tag or name, so mappers must never
produce one (see docs/parity.md for where this departs from the official module).
"""

from __future__ import annotations

import re
from typing import Any

from openchoreo_sync import Entity, Resource
from openchoreo_sync.validation import is_dns_label, is_object_name, is_tag

API_VERSION = "backstage.io/v1alpha1"
PROVIDER_LOCATION = "provider:OpenChoreoEntityProvider"
MANAGED_LABEL = "openchoreo.io/managed"
CLUSTER_NAMESPACE = "openchoreo-cluster"

_TAG_INVALID = re.compile(r"[^a-z0-9:+#]+")


def provenance() -> dict[str, str]:
    """The two ``managed-by`` annotations every entity starts with (insertion order matters for YAML)."""
    return {
        "backstage.io/managed-by-location": PROVIDER_LOCATION,
        "backstage.io/managed-by-origin-location": PROVIDER_LOCATION,
    }


def managed_labels(**extra: str) -> dict[str, str]:
    return {MANAGED_LABEL: "true", **extra}


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only when ``value`` is truthy: the JS conditional spread the reference describes."""
    if value:
        target[key] = value


def tag(value: str) -> str:
    """``value`` as a valid Backstage tag, or ``''`` when nothing valid is left.

    Lower-cases, turns each run of characters outside ``[a-z0-9:+#]`` into one ``-`` and trims
    ``-`` at the ends; a value that already is a valid tag is returned unchanged.
    """
    if is_tag(value):
        return value
    return _TAG_INVALID.sub("-", value.lower()).strip("-")[:63].rstrip("-")


def tags(*values: str) -> list[str]:
    """The tag list in order, dropping entries that sanitise to nothing (never an empty tag)."""
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


def require_valid_identity(resource: Resource, name: str, namespace: str | None) -> None:
    """Raise ``ValueError`` naming the resource and the rule when Backstage would reject the name.

    OpenChoreo names are Kubernetes names (up to 253 characters), Backstage names are at most 63:
    such a resource cannot be mirrored, and the core reports the error and skips it.
    """
    if not is_object_name(name):
        raise ValueError(
            f"{resource.describe()}: entity name {name!r} is not a valid Backstage name "
            "(1-63 characters of [a-zA-Z0-9] separated by [-_.])"
        )
    if namespace is not None and not is_dns_label(namespace):
        raise ValueError(
            f"{resource.describe()}: namespace {namespace!r} is not a valid Backstage namespace "
            "(a lower-case DNS label of 1-63 characters)"
        )
