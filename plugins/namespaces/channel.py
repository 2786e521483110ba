"""OpenChoreo ObservabilityAlertsNotificationChannel → the Backstage kind of the same name (platform §19).

The official module's processor rejects a channel without an environment, a type, or the config
block its type needs; the mapper rejects the same channels up front so the error names the rule.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from openchoreo_sync import Entity, Resource, SyncContext
from openchoreo_sync.kit import cr
from openchoreo_sync.kit.entities import base, managed_labels, provenance, put, require_valid_identity, tags

KIND = "ObservabilityAlertsNotificationChannel"
_CONFIG_FOR_TYPE = {"email": "emailConfig", "webhook": "webhookConfig"}


def spec_problem(spec: Mapping[str, Any]) -> str | None:
    """Why the official processor would reject this (entity) spec, or None when it is acceptable."""
    if not spec.get("type"):
        return "spec.type is missing (must be email or webhook)"
    if not spec.get("environment"):
        return "spec.environment is missing or empty"
    config_key = _CONFIG_FOR_TYPE.get(str(spec["type"]))
    if config_key and spec.get(config_key) is None:
        return f"a {spec['type']} channel needs spec.{config_key}"
    return None


def map_channel(resource: Resource, ctx: SyncContext) -> list[Entity]:
    body = resource.body
    name = cr.name_of(body)
    namespace = resource.namespace or cr.text(cr.metadata(body).get("namespace"))
    require_valid_identity(resource, name, namespace)
    source = cr.spec(body)

    spec: dict[str, Any] = {"environment": cr.text(source.get("environment"))}
    if "isEnvDefault" in source:
        spec["isEnvDefault"] = source["isEnvDefault"]
    if source.get("type") is not None:
        spec["type"] = source["type"]
    for key in ("emailConfig", "webhookConfig"):
        if source.get(key) is not None:
            spec[key] = copy.deepcopy(source[key])
    problem = spec_problem(spec)
    if problem:
        raise ValueError(f"{resource.describe()}: {problem}")

    annotations = provenance()
    annotations["openchoreo.io/namespace"] = namespace
    put(annotations, "openchoreo.io/created-at", cr.created_at(body))
    put(annotations, "openchoreo.io/deletion-timestamp", cr.deletion_timestamp(body))
    return [
        base(
            KIND,
            name,
            namespace,
            title=cr.title_of(body),
            description=cr.description_of(body) or f"{name} notification channel",
            tag_list=tags("openchoreo", "notification-channel", cr.text(source.get("type"))),
            annotations=annotations,
            labels=managed_labels(),
            spec=spec,
        )
    ]
