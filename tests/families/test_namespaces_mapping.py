"""The namespaces family's mappers and relations, against API-shaped input (no HTTP).

Golden: mapping-entities-core.md §7 worked example and its §7.3 variants, dict-equal.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from openchoreo_sync import EntityIndex, Relation, Resource, SyncContext, entity_ref
from openchoreo_sync.config import AppConfig
from openchoreo_sync.plugins import namespaces as plugin
from openchoreo_sync.validation import entity_problems

GOLDEN = Path(__file__).parent / "golden" / "namespaces"
CHANNEL = "ObservabilityAlertsNotificationChannel"


def make_ctx(**openchoreo: Any) -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1", **openchoreo}})
    return SyncContext(run_id="test", config=config, log=structlog.get_logger())


def load_input() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((GOLDEN / "worked_example.input.yaml").read_text())
    return data


def load_expected() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((GOLDEN / "worked_example.expected.yaml").read_text()))


def map_one(kind: str, body: dict[str, Any], namespace: str | None = "default", **ctx: Any) -> list[dict[str, Any]]:
    result = plugin.map_resource(resource=Resource(kind, body, namespace), ctx=make_ctx(**ctx))
    assert result is not None
    for entity in result:
        assert entity_problems(entity) == [], entity
    return result


def map_input(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = [e for ns in data["namespaces"] for e in map_one("Namespace", ns, None)]
    out += [e for env in data["environments"] for e in map_one("Environment", env)]
    out += [e for p in data["deploymentpipelines"] for e in map_one("DeploymentPipeline", p)]
    return out


def test_worked_example_matches_golden() -> None:
    assert map_input(load_input()) == load_expected()


def test_other_kinds_are_not_ours() -> None:
    assert plugin.map_resource(resource=Resource("Component", {"metadata": {"name": "x"}}, "d"), ctx=make_ctx()) is None


# --- §7.3 variants: one input change, one output change ---------------------------------------------


def _namespace(data: dict[str, Any]) -> dict[str, Any]:
    ns: dict[str, Any] = data["namespaces"][0]
    return ns


def _dev(data: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = data["environments"][0]
    return env


def _display_default(data: dict[str, Any]) -> None:
    _namespace(data)["metadata"]["annotations"] = {"openchoreo.dev/display-name": "Default"}


def _domain_title(expected: list[dict[str, Any]]) -> None:
    expected[0]["metadata"]["title"] = "Default"


def _no_is_production(data: dict[str, Any]) -> None:
    del _dev(data)["spec"]["isProduction"]


def _no_is_production_expected(expected: list[dict[str, Any]]) -> None:
    dev = expected[1]
    del dev["metadata"]["labels"]["openchoreo.io/environment-type"]
    del dev["metadata"]["annotations"]["openchoreo.io/is-production"]
    del dev["spec"]["isProduction"]


def _gateway(data: dict[str, Any]) -> None:
    _dev(data)["spec"]["gateway"] = {
        "ingress": {
            "external": {
                "name": "gateway-default",
                "namespace": "openchoreo-data-plane",
                "http": {"listenerName": "http", "port": 19080, "host": "dev.example.com"},
                "tls": {"listenerName": "tls", "port": 19443, "host": "dev.example.com"},
            }
        },
        "egress": {"external": {"name": "egress", "namespace": "x"}},
    }


def _gateway_expected(expected: list[dict[str, Any]]) -> None:
    dev = expected[1]
    annotations = dev["metadata"]["annotations"]
    # dns-prefix goes after data-plane-ref-kind and before is-production
    items = list(annotations.items())
    items.insert(items.index(("openchoreo.io/is-production", "false")), ("openchoreo.io/dns-prefix", "dev.example.com"))
    dev["metadata"]["annotations"] = dict(items)
    dev["spec"]["dnsPrefix"] = "dev.example.com"
    dev["spec"]["gateway"] = {
        "ingress": {
            "external": {
                "name": "gateway-default",
                "namespace": "openchoreo-data-plane",
                "http": {"host": "dev.example.com", "port": 19080},
            }
        }
    }


def _deleting(data: dict[str, Any]) -> None:
    for obj in (_namespace(data), _dev(data), data["deploymentpipelines"][0]):
        obj["metadata"]["deletionTimestamp"] = "2025-02-01T00:00:00Z"


def _deleting_expected(expected: list[dict[str, Any]]) -> None:
    # Domain: never; Environment and DeploymentPipeline: the annotation, entity still emitted.
    expected[1]["metadata"]["annotations"]["openchoreo.io/deletion-timestamp"] = "2025-02-01T00:00:00Z"
    expected[3]["metadata"]["annotations"]["openchoreo.io/deletion-timestamp"] = "2025-02-01T00:00:00Z"


def _not_ready(data: dict[str, Any]) -> None:
    _dev(data)["status"]["conditions"][0]["status"] = "False"


def _not_ready_expected(expected: list[dict[str, Any]]) -> None:
    expected[1]["metadata"]["annotations"]["openchoreo.io/status"] = "Not Ready"


def _described(data: dict[str, Any]) -> None:
    for obj in (_namespace(data), _dev(data), data["deploymentpipelines"][0]):
        obj["metadata"]["annotations"] = {"openchoreo.dev/description": "Described"}


def _described_expected(expected: list[dict[str, Any]]) -> None:
    for index in (0, 1, 3):
        expected[index]["metadata"]["description"] = "Described"


def _approval(data: dict[str, Any]) -> None:
    data["deploymentpipelines"][0]["spec"]["promotionPaths"][0]["targetEnvironmentRefs"][0]["requiresApproval"] = True


def _cluster_plane(data: dict[str, Any]) -> None:
    _dev(data)["spec"]["dataPlaneRef"] = {"kind": "ClusterDataPlane", "name": "shared"}


def _cluster_plane_expected(expected: list[dict[str, Any]]) -> None:
    expected[1]["metadata"]["annotations"]["openchoreo.io/data-plane-ref"] = "shared"
    expected[1]["metadata"]["annotations"]["openchoreo.io/data-plane-ref-kind"] = "ClusterDataPlane"
    expected[1]["spec"]["dataPlaneRef"] = "shared"


def _no_plane(data: dict[str, Any]) -> None:
    del _dev(data)["spec"]["dataPlaneRef"]


def _no_plane_expected(expected: list[dict[str, Any]]) -> None:
    del expected[1]["metadata"]["annotations"]["openchoreo.io/data-plane-ref"]
    del expected[1]["metadata"]["annotations"]["openchoreo.io/data-plane-ref-kind"]
    del expected[1]["spec"]["dataPlaneRef"]


def _no_timestamps(data: dict[str, Any]) -> None:
    for obj in (_namespace(data), _dev(data), data["deploymentpipelines"][0]):
        del obj["metadata"]["creationTimestamp"]
    del _dev(data)["metadata"]["uid"]
    del _namespace(data)["status"]


def _no_timestamps_expected(expected: list[dict[str, Any]]) -> None:
    for index in (0, 1, 3):
        del expected[index]["metadata"]["annotations"]["openchoreo.io/created-at"]
    del expected[1]["metadata"]["annotations"]["openchoreo.io/environment-uid"]
    del expected[0]["metadata"]["annotations"]["openchoreo.io/status"]


def _unchanged(expected: list[dict[str, Any]]) -> None:
    return None


VARIANTS = {
    "namespace display name": (_display_default, _domain_title),
    "isProduction absent": (_no_is_production, _no_is_production_expected),
    "gateway ingress host": (_gateway, _gateway_expected),
    "deletionTimestamp": (_deleting, _deleting_expected),
    "environment not ready": (_not_ready, _not_ready_expected),
    "description annotations": (_described, _described_expected),
    "approval flags dropped": (_approval, _unchanged),
    "cluster data plane": (_cluster_plane, _cluster_plane_expected),
    "no data plane ref": (_no_plane, _no_plane_expected),
    "no timestamps, uid or phase": (_no_timestamps, _no_timestamps_expected),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_worked_example_variants(variant: str) -> None:
    change_input, change_expected = VARIANTS[variant]
    data = load_input()
    change_input(data)
    expected = load_expected()
    change_expected(expected)
    produced = map_input(data)
    assert produced == expected
    # key order of annotations is part of the contract (byte-level YAML parity)
    for got, want in zip(produced, expected, strict=True):
        assert list(got["metadata"]["annotations"]) == list(want["metadata"]["annotations"])


# --- owners ----------------------------------------------------------------------------------------


def test_domain_owner_is_the_configured_default_owner() -> None:
    ns = _namespace(load_input())
    assert map_one("Namespace", ns, None, defaultOwner="platform-team")[0]["spec"]["owner"] == (
        "group:default/platform-team"
    )
    # a configured full ref is used as is, never prefixed twice
    assert map_one("Namespace", ns, None, defaultOwner="group:ops/sre")[0]["spec"]["owner"] == "group:ops/sre"


def test_domain_owner_annotation_is_honoured() -> None:
    ns = _namespace(load_input())
    ns["metadata"]["annotations"] = {"backstage.io/owner": "  group:default/team-a  "}
    entity = map_one("Namespace", ns, None)[0]
    assert entity["spec"]["owner"] == "group:default/team-a"
    assert "backstage.io/owner" not in entity["metadata"]["annotations"]
    ns["metadata"]["annotations"] = {"backstage.io/owner": "   "}
    assert map_one("Namespace", ns, None)[0]["spec"]["owner"] == "group:default/openchoreo-users"


def test_environments_and_pipelines_have_no_owner() -> None:
    data = load_input()
    assert "owner" not in map_one("Environment", _dev(data))[0]["spec"]
    assert "owner" not in map_one("DeploymentPipeline", data["deploymentpipelines"][0])[0]["spec"]


# --- deployment pipelines -----------------------------------------------------------------------------


def test_pipeline_paths_edge_cases() -> None:
    pipeline = load_input()["deploymentpipelines"][0]
    pipeline["spec"]["promotionPaths"] = [
        {"sourceEnvironmentRef": "dev", "targetEnvironmentRefs": ["staging", {"kind": "Environment"}]},
        {"targetEnvironmentRefs": None},
    ]
    assert map_one("DeploymentPipeline", pipeline)[0]["spec"]["promotionPaths"] == [
        {"sourceEnvironment": "dev", "targetEnvironments": [{"name": "staging"}]},
        {"sourceEnvironment": "", "targetEnvironments": []},
    ]
    del pipeline["spec"]["promotionPaths"]
    assert map_one("DeploymentPipeline", pipeline)[0]["spec"]["promotionPaths"] == []


# --- notification channels -----------------------------------------------------------------------------


def channel(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "openchoreo.dev/v1alpha1",
        "kind": CHANNEL,
        "metadata": {"name": "ops-email", "namespace": "default", "uid": "c1"},
        "spec": spec,
    }


EMAIL_CONFIG = {
    "from": "alerts@example.com",
    "to": ["ops@example.com"],
    "smtp": {
        "host": "smtp.example.com",
        "port": 587,
        "auth": {"username": {"secretKeyRef": {"name": "smtp", "key": "user"}}},
    },
    "template": {"subject": "alert.name", "body": "alert.message"},
}


def test_email_channel() -> None:
    body = channel(environment="development", type="email", isEnvDefault=True, emailConfig=EMAIL_CONFIG)
    body["metadata"]["creationTimestamp"] = "2025-01-06T10:00:09Z"
    assert map_one(CHANNEL, body) == [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": CHANNEL,
            "metadata": {
                "name": "ops-email",
                "namespace": "default",
                "title": "ops-email",
                "description": "ops-email notification channel",
                "tags": ["openchoreo", "notification-channel", "email"],
                "annotations": {
                    "backstage.io/managed-by-location": "provider:OpenChoreoEntityProvider",
                    "backstage.io/managed-by-origin-location": "provider:OpenChoreoEntityProvider",
                    "openchoreo.io/namespace": "default",
                    "openchoreo.io/created-at": "2025-01-06T10:00:09Z",
                },
                "labels": {"openchoreo.io/managed": "true"},
            },
            "spec": {
                "environment": "development",
                "isEnvDefault": True,
                "type": "email",
                "emailConfig": EMAIL_CONFIG,
            },
        }
    ]


def test_webhook_channel_without_timestamp_and_deleting() -> None:
    hook = {
        "url": "https://hooks.example.com/x",
        "headers": {"X-Token": {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}},
    }
    body = channel(environment="production", type="webhook", webhookConfig=hook)
    body["metadata"]["deletionTimestamp"] = "2025-02-01T00:00:00Z"
    entity = map_one(CHANNEL, body)[0]
    assert "openchoreo.io/created-at" not in entity["metadata"]["annotations"]
    assert entity["metadata"]["annotations"]["openchoreo.io/deletion-timestamp"] == "2025-02-01T00:00:00Z"
    assert entity["spec"] == {"environment": "production", "type": "webhook", "webhookConfig": hook}
    assert entity["spec"]["webhookConfig"] is not hook  # a copy: decorators cannot mutate the raw body


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ({"environment": "development"}, "spec.type"),
        ({"type": "email", "emailConfig": EMAIL_CONFIG}, "spec.environment"),
        ({"environment": "", "type": "email", "emailConfig": EMAIL_CONFIG}, "spec.environment"),
        ({"environment": "development", "type": "email"}, "spec.emailConfig"),
        (
            {"environment": "development", "type": "webhook", "emailConfig": EMAIL_CONFIG},
            "spec.webhookConfig",
        ),
    ],
)
def test_channel_the_processor_would_reject_is_rejected(spec: dict[str, Any], rule: str) -> None:
    with pytest.raises(ValueError, match=rf"{CHANNEL} default/ops-email: .*{rule}"):
        plugin.map_resource(resource=Resource(CHANNEL, channel(**spec), "default"), ctx=make_ctx())


# --- names Backstage would reject ----------------------------------------------------------------------


def test_overlong_name_is_rejected_with_the_rule() -> None:
    env = _dev(load_input())
    env["metadata"]["name"] = "e" * 64
    with pytest.raises(ValueError, match=r"Environment default/e{64}: entity name .*1-63 characters"):
        plugin.map_resource(resource=Resource("Environment", env, "default"), ctx=make_ctx())


# --- relations -------------------------------------------------------------------------------------------


def relate(entities: list[dict[str, Any]]) -> set[Relation]:
    index = EntityIndex({entity_ref(e): e for e in entities})
    return set(plugin.relate(entities=index, ctx=make_ctx()))


def test_worked_example_relations() -> None:
    assert relate(load_expected()) == {
        Relation("environment:default/development", "partOf", "domain:default/default"),
        Relation("environment:default/development", "hostedOn", "dataplane:default/default"),
        Relation("environment:default/production", "partOf", "domain:default/default"),
        Relation("environment:default/production", "hostedOn", "dataplane:default/default"),
        Relation("deploymentpipeline:default/default", "partOf", "domain:default/default"),
        Relation("deploymentpipeline:default/default", "deploysTo", "environment:default/development"),
        Relation("deploymentpipeline:default/default", "deploysTo", "environment:default/production"),
    }


def test_cluster_data_plane_relation_is_case_insensitive() -> None:
    data = load_input()
    _dev(data)["spec"]["dataPlaneRef"] = {"kind": "ClusterDataPlane", "name": "shared"}
    env = map_one("Environment", _dev(data))[0]
    env["metadata"]["annotations"]["openchoreo.io/data-plane-ref-kind"] = " clusterDataPlane "
    assert Relation("environment:default/development", "hostedOn", "clusterdataplane:openchoreo-cluster/shared") in (
        relate([env])
    )


def test_environment_without_plane_or_type() -> None:
    env = map_one("Environment", _no_plane_input())[0]
    assert relate([env]) == {Relation("environment:default/development", "partOf", "domain:default/default")}
    del env["spec"]["type"]  # the upstream processor throws: no relations at all
    assert relate([env]) == set()


def _no_plane_input() -> dict[str, Any]:
    data = load_input()
    _no_plane(data)
    return _dev(data)


def test_pipeline_relations_deduplicate_and_skip_empty_names() -> None:
    pipeline = load_input()["deploymentpipelines"][0]
    pipeline["metadata"]["namespace"] = "acme"
    pipeline["spec"]["promotionPaths"] = [
        {"sourceEnvironmentRef": {"name": "dev"}, "targetEnvironmentRefs": [{"name": "stg"}]},
        {
            "sourceEnvironmentRef": {"name": "stg"},
            "targetEnvironmentRefs": [{"name": "prod"}, {"name": "dev"}],
        },
        {"targetEnvironmentRefs": []},
    ]
    entity = map_one("DeploymentPipeline", pipeline, "acme")[0]
    assert relate([entity]) == {
        Relation("deploymentpipeline:acme/default", "partOf", "domain:default/acme"),
        Relation("deploymentpipeline:acme/default", "deploysTo", "environment:acme/dev"),
        Relation("deploymentpipeline:acme/default", "deploysTo", "environment:acme/stg"),
        Relation("deploymentpipeline:acme/default", "deploysTo", "environment:acme/prod"),
    }


def test_channel_relation() -> None:
    entity = map_one(CHANNEL, channel(environment="development", type="email", emailConfig=EMAIL_CONFIG))[0]
    assert relate([entity]) == {
        Relation(
            "observabilityalertsnotificationchannel:default/ops-email",
            "notifiedBy",
            "environment:default/development",
        )
    }
    broken = copy.deepcopy(entity)
    del broken["spec"]["emailConfig"]
    assert relate([broken]) == set()


def test_relations_apply_to_entities_of_other_origins() -> None:
    """Like the upstream processors: any Environment in the snapshot, e.g. one from a catalog file."""
    env = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Environment",
        "metadata": {"name": "qa"},
        "spec": {"type": "non-production", "domain": "acme", "dataPlaneRef": "dp"},
    }
    assert relate([env]) == {
        Relation("environment:default/qa", "partOf", "domain:default/acme"),
        Relation("environment:default/qa", "hostedOn", "dataplane:default/dp"),
    }


def test_plugin_info() -> None:
    info = plugin.plugin_info()
    assert info.kinds == ("Domain", "Environment", "DeploymentPipeline", CHANNEL)
    assert ("Namespace", "Domain") in info.mapping
    assert set(info.event_kinds) == {"namespace", "environment", "deploymentpipeline", CHANNEL.lower()}
