"""Property: whatever names and annotation values OpenChoreo holds, the namespaces family emits only
entities Backstage accepts, or rejects the one resource with a ValueError naming it and the rule."""

from __future__ import annotations

from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync import Resource, SyncContext
from openchoreo_sync.config import AppConfig
from openchoreo_sync.plugins import namespaces as plugin
from openchoreo_sync.validation import entity_problems

CTX = SyncContext(
    run_id="prop",
    config=AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}}),
    log=structlog.get_logger(),
)

k8s_names = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,80}[a-z0-9])?", fullmatch=True)
names = st.one_of(k8s_names, st.text(max_size=70))
values = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", "  ", "group:default/x", "Team A"]))


def annotations(display: str | None, description: str | None, owner: str | None) -> dict[str, str]:
    pairs = {
        "openchoreo.dev/display-name": display,
        "openchoreo.dev/description": description,
        "backstage.io/owner": owner,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def check(kind: str, body: dict[str, Any], namespace: str | None) -> None:
    resource = Resource(kind, body, namespace)
    try:
        entities = plugin.map_resource(resource=resource, ctx=CTX)
    except ValueError as exc:
        assert resource.describe() in str(exc)
        return
    assert entities
    for entity in entities:
        assert entity_problems(entity) == [], entity


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["Namespace", "Environment", "DeploymentPipeline", "ObservabilityAlertsNotificationChannel"]),
    name=names,
    namespace=names,
    display=values,
    description=values,
    owner=values,
    env=values,
    plane=values,
    channel_type=st.one_of(st.none(), st.sampled_from(["email", "webhook", "Slack Channel", ""])),
)
def test_every_entity_is_valid_or_rejected_with_a_reason(
    kind: str,
    name: str,
    namespace: str,
    display: str | None,
    description: str | None,
    owner: str | None,
    env: str | None,
    plane: str | None,
    channel_type: str | None,
) -> None:
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": annotations(display, description, owner),
        },
        "spec": {
            "dataPlaneRef": {"kind": "DataPlane", "name": plane},
            "isProduction": bool(env),
            "promotionPaths": [{"sourceEnvironmentRef": {"name": env}, "targetEnvironmentRefs": [{"name": plane}]}],
            "environment": env,
            "type": channel_type,
            "emailConfig": {"to": ["a@b.c"]},
            "webhookConfig": {"url": "https://x"},
        },
        "status": {"phase": display},
    }
    check(kind, body, None if kind == "Namespace" else namespace)
