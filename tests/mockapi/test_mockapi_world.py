"""World content, mutation, webhook events, determinism, control routes and the CLI."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec, build_world, configure_parser, run_from_args
from openchoreo_sync.mockapi.kinds import CLUSTER, NAMESPACED
from openchoreo_sync.testing.mockapi_fixtures import MockFactory, mock_openchoreo, mock_openchoreo_factory  # noqa: F401


class _Receiver:
    """A real local HTTP webhook receiver recording (headers, JSON body)."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.cond:
                    outer.events.append((dict(self.headers), body))
                    outer.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.events) >= n, timeout), self.events
            return [b for _, b in self.events]


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_worked_example_is_present(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    get = lambda p: httpx.get(mock_openchoreo.url + "/api/v1/namespaces/default/" + p).json()  # noqa: E731
    assert [p["metadata"]["name"] for p in get("projects")["items"]] == ["url-shortener"]
    project = get("projects/url-shortener")
    assert project["metadata"]["annotations"] == {"openchoreo.dev/display-name": "URL Shortener"}
    assert project["spec"]["deploymentPipelineRef"] == {"kind": "DeploymentPipeline", "name": "default"}
    assert project["spec"]["type"] == {"kind": "ClusterProjectType", "name": "default"}
    comp = get("components/api-service")
    assert comp["spec"]["componentType"] == {"kind": "ComponentType", "name": "deployment/service"}
    assert "workflow" not in comp["spec"] and "annotations" not in comp["metadata"]
    assert comp["status"]["conditions"][0]["type"] == "Ready" and comp["status"]["conditions"][0]["status"] == "True"
    wl = get("workloads?component=api-service")["items"]
    assert [w["metadata"]["name"] for w in wl] == ["api-service-workload"]
    ep = wl[0]["spec"]["endpoints"]
    assert list(ep) == ["rest-api"] and ep["rest-api"]["type"] == "HTTP" and ep["rest-api"]["port"] == 8080
    assert ep["rest-api"]["schema"]["type"] == "openapi" and "dependencies" not in wl[0]["spec"]
    envs = {e["metadata"]["name"]: e["spec"] for e in get("environments")["items"]}
    assert envs == {
        "development": {"dataPlaneRef": {"kind": "DataPlane", "name": "default"}, "isProduction": False},
        "production": {"dataPlaneRef": {"kind": "DataPlane", "name": "default"}, "isProduction": True},
    }
    pipeline = get("deploymentpipelines/default")["spec"]["promotionPaths"]
    assert pipeline == [
        {
            "sourceEnvironmentRef": {"kind": "Environment", "name": "development"},
            "targetEnvironmentRefs": [{"kind": "Environment", "name": "production"}],
        }
    ]
    ns = httpx.get(mock_openchoreo.url + "/api/v1/namespaces/default").json()
    assert ns["status"] == {"phase": "Active"} and "annotations" not in ns["metadata"]


def test_generated_world_exercises_the_mapping() -> None:
    world = build_world(WorldSpec(namespaces=2, projects=3, components=12))
    ns = next(n for n in world.namespaces() if n != "default")
    for coll in NAMESPACED:
        assert world.items(coll, ns), coll
    for coll in CLUSTER:
        assert world.items(coll), coll
    comps = world.items("components", ns)
    kinds = {c["spec"]["componentType"]["kind"] for c in comps}
    types = {c["spec"]["componentType"]["name"] for c in comps}
    assert kinds == {"ComponentType", "ClusterComponentType"}
    assert types == {
        "deployment/service",
        "deployment/web-application",
        "deployment/worker",
        "cronjob/scheduled-task",
    }
    assert any(c["status"]["conditions"][0]["status"] == "False" for c in comps)
    assert any("deletionTimestamp" in c["metadata"] for c in comps)
    assert any("backstage.io/owner" in c["metadata"].get("annotations", {}) for c in comps)
    eps = [e for w in world.items("workloads", ns) for e in w["spec"].get("endpoints", {}).values()]
    assert {e["type"] for e in eps} >= {"HTTP", "gRPC", "GraphQL"}
    assert {e.get("schema", {}).get("type") for e in eps} >= {"openapi", "proto", "graphql", None}
    deps = [w["spec"].get("dependencies", {}) for w in world.items("workloads", ns)]
    assert any(d.get("endpoints") for d in deps) and any(d.get("resources") for d in deps)
    planes = world.items("dataplanes", ns)
    assert any(p["status"]["agentConnection"]["connected"] for p in planes)
    assert any("observabilityPlaneRef" in p["spec"] for p in planes)
    wf = world.items("workflows", ns)
    assert any(w["metadata"].get("labels", {}).get("openchoreo.dev/workflow-type") == "component" for w in wf)
    assert all(c["spec"]["observabilityPlaneRef"]["kind"] == "ClusterObservabilityPlane"
               for c in world.items("clusterdataplanes") if "observabilityPlaneRef" in c["spec"])  # fmt: skip


def test_determinism() -> None:
    spec = WorldSpec(seed=9, namespaces=2, projects=2, components=6)
    a, b, c = (
        build_world(spec),
        build_world(spec),
        build_world(WorldSpec(seed=10, namespaces=2, projects=2, components=6)),
    )
    for coll in ("components", "workloads", "releasebindings", "projects"):
        for ns in a.namespaces():
            assert a.items(coll, ns) == b.items(coll, ns)
    assert a.items("namespaces") == b.items("namespaces") != c.items("namespaces")


def test_generation_scales() -> None:
    world = build_world(WorldSpec(seed=2, namespaces=2, projects=10, components=500))
    assert world.count("components") == 10_001
    assert world.count("workloads") == 10_001
    # Listing is a slice of the sorted snapshot: no per-page sort or scan of the collection.
    snap = world.snapshot("components", world.namespaces()[1])
    assert snap.names == sorted(snap.names) and len(snap.names) == 5000


def test_mutation_and_webhook_events(mock_openchoreo: MockOpenChoreo, receiver: _Receiver) -> None:  # noqa: F811
    m = mock_openchoreo
    m.add_webhook(receiver.url, token="hook-secret")
    body = {"metadata": {"name": "new-svc"}, "spec": {"owner": {"projectName": "url-shortener"},
            "componentType": {"kind": "ComponentType", "name": "deployment/service"}}}  # fmt: skip
    created = m.world.put("components", "default", body)
    assert created["metadata"]["uid"] and created["kind"] == "Component"
    assert httpx.get(m.url + "/api/v1/namespaces/default/components/new-svc").json() == created
    m.world.put("components", "default", {**body, "metadata": {"name": "new-svc", "labels": {"a": "b"}}})
    assert m.world.delete("components", "default", "new-svc")
    assert not m.world.delete("components", "default", "new-svc")
    assert httpx.get(m.url + "/api/v1/namespaces/default/components/new-svc").status_code == 404
    m.world.put("clustertraits", "", {"metadata": {"name": "extra"}, "spec": {}})
    events = receiver.wait_for(4)
    assert events == [
        {"kind": "component", "name": "new-svc", "namespace": "default", "action": "created"},
        {"kind": "component", "name": "new-svc", "namespace": "default", "action": "updated"},
        {"kind": "component", "name": "new-svc", "namespace": "default", "action": "deleted"},
        {"kind": "clustertrait", "name": "extra", "namespace": "", "action": "created"},
    ]
    assert receiver.events[0][0]["Authorization"] == "Bearer hook-secret"


def test_control_routes(mock_openchoreo: MockOpenChoreo, receiver: _Receiver) -> None:  # noqa: F811
    url = mock_openchoreo.url
    assert httpx.post(url + "/_mock/webhooks", json={"url": receiver.url}).status_code == 200
    env = {"metadata": {"name": "qa"}, "spec": {"dataPlaneRef": {"kind": "DataPlane", "name": "default"}}}
    assert (
        httpx.put(url + "/_mock/resources/environments/default", json=env).json()["metadata"]["namespace"] == "default"
    )
    assert httpx.get(url + "/api/v1/namespaces/default/environments/qa").status_code == 200
    assert httpx.delete(url + "/_mock/resources/environments/default/qa").status_code == 204
    assert httpx.put(url + "/_mock/resources/namespaces/-", json={"metadata": {"name": "fresh"}}).status_code == 200
    assert httpx.get(url + "/api/v1/namespaces/fresh").status_code == 200
    assert [e["action"] for e in receiver.wait_for(3)] == ["created", "deleted", "created"]
    stats = httpx.get(url + "/_mock/stats").json()
    assert stats["by_path"]["/api/v1/namespaces/fresh"] == 1 and "/_mock/stats" not in stats["by_path"]
    assert httpx.post(url + "/_mock/reset").status_code == 204
    assert httpx.get(url + "/_mock/stats").json()["total"] == 0


def test_namespace_delete_cascades(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    ns = next(n for n in m.world.namespaces() if n != "default")
    assert m.world.delete("namespaces", "", ns)
    assert httpx.get(f"{m.url}/api/v1/namespaces/{ns}/components").json() == {"items": [], "pagination": {}}
    assert httpx.get(f"{m.url}/api/v1/namespaces/{ns}").status_code == 404


def test_cli_run_from_args(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--port", "0", "--namespaces", "1", "--projects", "1", "--components", "2", "--auth"])
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run_from_args(args, stop)))
    thread.start()
    out = ""
    try:
        deadline = time.monotonic() + 10
        while "Client secret:" not in out and time.monotonic() < deadline and thread.is_alive():
            out += capsys.readouterr().out
            stop.wait(0.02)  # bounded poll of the CLI's output
        lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        url = out.split("serving at ", 1)[1].split()[0]
        assert httpx.get(url + "/api/v1/namespaces").status_code == 401
        form = {
            "grant_type": "client_credentials",
            "client_id": lines["Client ID"].strip(),
            "client_secret": lines["Client secret"].strip(),
        }
        token = httpx.post(lines["Token URL"].strip(), data=form).json()["access_token"]
        resp = httpx.get(url + "/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200 and len(resp.json()["items"]) == 2
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


def test_factory(mock_openchoreo_factory: MockFactory) -> None:  # noqa: F811
    m = mock_openchoreo_factory(namespaces=1, projects=1, components=3, example=False)
    assert m.world.namespaces() != [] and "default" not in m.world.namespaces()
    assert httpx.get(m.url + "/health").status_code == 200
