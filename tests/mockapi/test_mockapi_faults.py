"""Each injected fault reaches a real HTTP client the way it would in production."""

from __future__ import annotations

import httpx
import pytest
from mockapi_helpers import walk

from openchoreo_sync.mockapi import FaultRule, MockOpenChoreo
from openchoreo_sync.testing.mockapi_fixtures import mock_openchoreo  # noqa: F401

API = "/api/v1/namespaces/default/components"


def test_status_fault_with_retry_after_and_times(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.fail("/components$", status=429, retry_after=3, times=2)
    for _ in range(2):
        resp = httpx.get(m.url + API)
        assert resp.status_code == 429 and resp.headers["retry-after"] == "3"
    assert httpx.get(m.url + API).status_code == 200
    assert httpx.get(m.url + "/api/v1/namespaces/default/projects").status_code == 200


def test_503_and_500_bodies(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.fail("/projects$", status=503, retry_after=1, times=1)
    m.faults.fail("/components$", status=500, times=1)
    unavailable = httpx.get(m.url + "/api/v1/namespaces/default/projects")
    assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "1"
    err = httpx.get(m.url + API)
    assert err.status_code == 500 and err.json() == {
        "code": "INTERNAL_ERROR",
        "error": "Internal server error",
    }


def test_connection_reset(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.add(path="/components$", action="reset", times=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        httpx.get(m.url + API)
    assert httpx.get(m.url + API).status_code == 200


def test_timeout(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.add(path="/components$", action="timeout", hang_seconds=30, times=1)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(m.url + API, timeout=0.3)
    assert httpx.get(m.url + API, timeout=5).status_code == 200


def test_malformed_and_wrong_types(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.add(path="/components$", action="malformed", times=1)
    m.faults.add(path="/components$", action="wrong_types", times=1)
    bad = httpx.get(m.url + API)
    assert bad.status_code == 200
    with pytest.raises(ValueError):
        bad.json()
    wrong = httpx.get(m.url + API).json()
    assert not isinstance(wrong["items"], list) and isinstance(wrong["pagination"]["nextCursor"], int)


def test_random_failure_rate_is_seeded(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo

    def run() -> list[int]:
        m.faults.set_failure_rate(0.5, status=502, seed=42)
        return [httpx.get(m.url + API).status_code for _ in range(20)]

    first = run()
    assert set(first) == {200, 502}
    assert run() == first
    m.faults.set_failure_rate(0.0)
    assert httpx.get(m.url + "/health").status_code == 200


def test_latency(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.set_latency(400)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(m.url + API, timeout=0.1)
    m.faults.set_latency(0)
    assert httpx.get(m.url + API, timeout=5).status_code == 200


def test_nth_page_of_a_walk(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    ns = next(n for n in m.world.namespaces() if n != "default")
    m.faults.add(FaultRule(path="/releasebindings$", status=503, page=3))
    with httpx.Client(base_url=m.url) as client:
        pages = walk(client, f"/api/v1/namespaces/{ns}/releasebindings", 2)
    assert [p.status_code for p in pages] == [200, 200, 503]


def test_cursor_expiry_by_age(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    ns = next(n for n in m.world.namespaces() if n != "default")
    path = f"/api/v1/namespaces/{ns}/releasebindings"
    m.faults.expire_cursors(2)
    cursor = httpx.get(m.url + path, params={"limit": 2}).json()["pagination"]["nextCursor"]
    assert httpx.get(m.url + path, params={"limit": 2, "cursor": cursor}).status_code == 200
    httpx.get(m.url + "/api/v1/namespaces")
    httpx.get(m.url + "/api/v1/namespaces")
    resp = httpx.get(m.url + path, params={"limit": 2, "cursor": cursor})
    assert resp.status_code == 500 and resp.json()["code"] == "INTERNAL_ERROR"


def test_cursor_loop(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    m.faults.add(path="/environments$", action="cursor_loop")
    with httpx.Client(base_url=m.url) as client:
        resp = client.get("/api/v1/namespaces/default/environments")
        for _ in range(5):
            cursor = resp.json()["pagination"]["nextCursor"]
            resp = client.get("/api/v1/namespaces/default/environments", params={"cursor": cursor})
            assert resp.status_code == 200 and len(resp.json()["items"]) == 2


def test_faults_over_http(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    m = mock_openchoreo
    body = {"latency_ms": 0, "rules": [{"path": "/projects$", "action": "status", "status": 503, "times": 1}]}
    assert httpx.put(m.url + "/_mock/faults", json=body).json()["rules"][0]["status"] == 503
    assert httpx.get(m.url + "/api/v1/namespaces/default/projects").status_code == 503
    httpx.put(m.url + "/_mock/faults", json={"rules": [{"path": "/projects$", "status": 500}]})
    assert httpx.delete(m.url + "/_mock/faults").json()["rules"] == []
    assert httpx.get(m.url + "/api/v1/namespaces/default/projects").status_code == 200
    assert httpx.put(m.url + "/_mock/faults", json={"rules": [{"path": "x", "action": "boom"}]}).status_code == 400
