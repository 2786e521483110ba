"""platform_planes mapping: the golden entities and the plane rules (readiness, agent, refs, gateway)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.model import Resource
from openchoreo_sync.plugins.platform_planes import family as platform_planes
from openchoreo_sync.validation import entity_problems

GOLDEN = Path(__file__).parent / "golden" / "platform_planes" / "entities.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(GOLDEN.read_text())


def make_ctx() -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})
    return SyncContext(run_id="t", config=config, log=structlog.get_logger())


def map_one(kind: str, body: dict[str, Any], namespace: str | None = "acme") -> dict[str, Any]:
    produced = platform_planes.map_resource(resource=Resource(kind, body, namespace), ctx=make_ctx())
    assert produced is not None and len(produced) == 1
    return produced[0]


def annotations(entity: dict[str, Any]) -> dict[str, str]:
    return entity["metadata"]["annotations"]


def test_golden_covers_every_kind() -> None:
    assert {case["resource"]["kind"] for case in CASES} == set(platform_planes.mappers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['resource']['kind']}-{c['entity']['metadata']['name']}")
def test_golden_entity(case: dict[str, Any]) -> None:
    resource = case["resource"]
    entity = map_one(resource["kind"], resource["body"], resource.get("namespace"))
    assert entity == case["entity"]
    assert entity_problems(entity) == []


def test_plugin_info_lists_kinds_and_events() -> None:
    info = platform_planes.plugin_info()
    assert info.kinds == (
        "Dataplane",
        "WorkflowPlane",
        "ObservabilityPlane",
        "ClusterDataplane",
        "ClusterWorkflowPlane",
        "ClusterObservabilityPlane",
    )
    assert ("DataPlane", "Dataplane") in info.mapping and (
        "ClusterDataPlane",
        "ClusterDataplane",
    ) in info.mapping
    assert set(info.event_kinds) == {
        "dataplane",
        "workflowplane",
        "observabilityplane",
        "clusterdataplane",
        "clusterworkflowplane",
        "clusterobservabilityplane",
    }


def test_other_kinds_are_not_mine() -> None:
    for kind in ("Environment", "ClusterComponentType", "Dataplane"):
        assert (
            platform_planes.map_resource(resource=Resource(kind, {"metadata": {"name": "x"}}, "acme"), ctx=make_ctx())
            is None
        )


@pytest.mark.parametrize(
    ("conditions", "status"),
    [
        ([{"type": "Created", "status": "True"}], "Ready"),
        ([{"type": "Created", "status": "False"}], "Not Ready"),
        ([{"type": "Ready", "status": "True"}], "Not Ready"),
        ([], "Not Ready"),
    ],
)
def test_readiness_follows_the_created_condition(conditions: list[dict[str, str]], status: str) -> None:
    entity = map_one("DataPlane", {"metadata": {"name": "d"}, "status": {"conditions": conditions}})
    assert annotations(entity)["openchoreo.io/status"] == status


def test_agent_annotations_only_with_an_agent_connection() -> None:
    assert not any(
        k.startswith("openchoreo.io/agent-") for k in annotations(map_one("DataPlane", {"metadata": {"name": "d"}}))
    )
    entity = map_one("DataPlane", {"metadata": {"name": "d"}, "status": {"agentConnection": {}}})
    assert annotations(entity)["openchoreo.io/agent-connected"] == "false"
    assert annotations(entity)["openchoreo.io/agent-connected-count"] == "0"
    assert "openchoreo.io/agent-last-connected" not in annotations(entity)


def test_namespaced_observability_ref_rules() -> None:
    def ref(value: dict[str, Any] | None) -> str:
        spec = {"observabilityPlaneRef": value} if value is not None else {}
        entity = map_one("WorkflowPlane", {"metadata": {"name": "w"}, "spec": spec})
        assert annotations(entity)["openchoreo.io/observability-plane-ref"] == entity["spec"]["observabilityPlaneRef"]
        return str(entity["spec"]["observabilityPlaneRef"])

    assert ref({"kind": "ObservabilityPlane", "name": "obs"}) == "acme/obs"
    assert (
        ref({"kind": "ClusterObservabilityPlane", "name": "obs"}) == "clusterobservabilityplane:openchoreo-cluster/obs"
    )
    assert ref({"kind": "ObservabilityPlane", "name": "other/obs"}) == "other/obs"
    assert ref({"kind": "ObservabilityPlane", "name": ""}) == ""
    assert ref(None) == ""


def test_cluster_plane_ref_is_bare_and_omitted_when_unset() -> None:
    entity = map_one("ClusterWorkflowPlane", {"metadata": {"name": "w"}, "spec": {}}, namespace=None)
    assert "observabilityPlaneRef" not in entity["spec"]
    assert "openchoreo.io/observability-plane-ref" not in annotations(entity)


def test_plane_annotation_order_is_upstreams() -> None:
    body = {
        "metadata": {
            "name": "d",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "deletionTimestamp": "2025-01-02T00:00:00Z",
        },
        "spec": {"observabilityPlaneRef": {"kind": "ObservabilityPlane", "name": "o"}},
        "status": {
            "agentConnection": {
                "connected": True,
                "connectedAgents": 1,
                "lastConnectedTime": "2025-01-01T00:00:01Z",
            }
        },
    }
    assert list(annotations(map_one("DataPlane", body)))[2:] == [
        "openchoreo.io/namespace",
        "openchoreo.io/created-at",
        "openchoreo.io/status",
        "openchoreo.io/observability-plane-ref",
        "openchoreo.io/agent-connected",
        "openchoreo.io/agent-connected-count",
        "openchoreo.io/agent-last-connected",
        "openchoreo.io/deletion-timestamp",
    ]


def test_gateway_only_with_an_ingress() -> None:
    no_ingress = map_one("DataPlane", {"metadata": {"name": "d"}, "spec": {"gateway": {"egress": {}}}})
    assert "gateway" not in no_ingress["spec"]
    workflow_plane = map_one("WorkflowPlane", {"metadata": {"name": "w"}, "spec": {"gateway": {"ingress": {}}}})
    assert "gateway" not in workflow_plane["spec"], "only data planes carry a gateway"


def test_observability_planes_hold_no_observability_ref() -> None:
    entity = map_one(
        "ObservabilityPlane", {"metadata": {"name": "o"}, "spec": {"observabilityPlaneRef": {"name": "x"}}}
    )
    assert entity["spec"] == {"domain": "default/acme"}
    assert "openchoreo.io/observability-plane-ref" not in annotations(entity)


def test_invalid_name_is_rejected_naming_the_resource_and_rule() -> None:
    with pytest.raises(ValueError, match=r"DataPlane acme/Bad!: metadata\.name 'Bad!' is not a valid"):
        map_one("DataPlane", {"metadata": {"name": "Bad!"}})
