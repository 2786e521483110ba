"""Pagination, label selectors and the project/component filters behave like the server."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from mockapi_helpers import names, walk

from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.testing.mockapi_fixtures import mock_openchoreo, mock_openchoreo_factory  # noqa: F401


@pytest.fixture(scope="module")
def big() -> object:
    with MockOpenChoreo(_spec(), fault_seed=3) as m:
        yield m


def _spec():  # type: ignore[no-untyped-def]
    from openchoreo_sync.mockapi import WorldSpec

    return WorldSpec(seed=5, namespaces=1, projects=3, components=50)


def _ns(mock: MockOpenChoreo) -> str:
    return next(n for n in mock.world.namespaces() if n != "default")


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(None, 20), ("0", 1), ("-5", 1), ("1", 1), ("100", 100), ("101", 100), ("9999", 100)],
)
def test_limit_default_and_clamping(big: MockOpenChoreo, limit: str | None, expected: int) -> None:
    params = {"limit": limit} if limit is not None else {}
    resp = httpx.get(f"{big.url}/api/v1/namespaces/{_ns(big)}/components", params=params)
    assert resp.status_code == 200
    assert len(resp.json()["items"]) == expected


def test_walk_is_complete_sorted_and_cursor_opaque(big: MockOpenChoreo) -> None:
    ns = _ns(big)
    expected = sorted(o["metadata"]["name"] for o in big.world.items("components", ns))
    assert len(expected) == 150
    with httpx.Client(base_url=big.url) as client:
        for limit in (1, 7, 20, 100):
            pages = walk(client, f"/api/v1/namespaces/{ns}/components", limit)
            assert names(pages) == expected
            assert big.stats.count(f"/api/v1/namespaces/{ns}/components") >= len(pages)
        cursor = walk(client, f"/api/v1/namespaces/{ns}/components", 7)[0].json()["pagination"]["nextCursor"]
    assert "=" not in cursor
    inner = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert set(inner) == {"c", "s"}
    k8s = json.loads(base64.b64decode(inner["c"]))
    assert k8s["v"] == "meta.k8s.io/v1" and k8s["start"].endswith("\x00")


def test_walk_reads_a_consistent_snapshot(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    mock = mock_openchoreo
    ns = _ns(mock)
    path = f"/api/v1/namespaces/{ns}/workloads"
    with httpx.Client(base_url=mock.url) as client:
        before = names(walk(client, path, 100))
        first = client.get(path, params={"limit": 2}).json()
        mock.world.put("workloads", ns, {"metadata": {"name": "zzz-new"}, "spec": {}})
        mock.world.delete("workloads", ns, before[-1])
        rest = walk(client, path, 2, cursor=first["pagination"]["nextCursor"])
        assert [i["metadata"]["name"] for i in first["items"]] + names(rest) == before
        after = names(walk(client, path, 100))
    assert "zzz-new" in after and before[-1] not in after


def test_compaction_expires_cursors(mock_openchoreo: MockOpenChoreo) -> None:  # noqa: F811
    mock = mock_openchoreo
    path = f"/api/v1/namespaces/{_ns(mock)}/workloads"
    cursor = httpx.get(mock.url + path, params={"limit": 2}).json()["pagination"]["nextCursor"]
    assert httpx.get(mock.url + path, params={"limit": 2, "cursor": cursor}).status_code == 200
    mock.world.compact()
    resp = httpx.get(mock.url + path, params={"limit": 2, "cursor": cursor})
    assert resp.status_code == 500
    assert resp.json() == {"code": "INTERNAL_ERROR", "error": "Internal server error"}


@pytest.mark.parametrize(
    ("selector", "expect"),
    [
        ("openchoreo.dev/project={p}", "project"),
        ("openchoreo.dev/project=={p}", "project"),
        ("openchoreo.dev/project!={p}", "not-project"),
        ("openchoreo.dev/project", "has"),
        ("!openchoreo.dev/project", "has-not"),
        ("openchoreo.dev/project in ({p},x),openchoreo.dev/name", "project"),
        ("openchoreo.dev/project notin ({p})", "not-project"),
    ],
)
def test_label_selectors(big: MockOpenChoreo, selector: str, expect: str) -> None:
    ns = _ns(big)
    objs = big.world.items("components", ns)
    project = objs[0]["spec"]["owner"]["projectName"]
    labels = {o["metadata"]["name"]: o["metadata"].get("labels", {}) for o in objs}
    pick = {
        "project": lambda lb: lb.get("openchoreo.dev/project") == project,
        "not-project": lambda lb: lb.get("openchoreo.dev/project") != project,
        "has": lambda lb: "openchoreo.dev/project" in lb,
        "has-not": lambda lb: "openchoreo.dev/project" not in lb,
    }[expect]
    expected = sorted(n for n, lb in labels.items() if pick(lb))
    assert 0 < len(expected) < len(objs)
    with httpx.Client(base_url=big.url) as client:
        got = names(walk(client, f"/api/v1/namespaces/{ns}/components", 7, labelSelector=selector.format(p=project)))
    assert got == expected


@pytest.mark.parametrize("selector", ["a b", "=x", "a=b c", "!", "a in (b", ",", "a=$"])
def test_invalid_label_selector(big: MockOpenChoreo, selector: str) -> None:
    resp = httpx.get(f"{big.url}/api/v1/namespaces/{_ns(big)}/components", params={"labelSelector": selector})
    assert resp.status_code == 400
    assert resp.json()["code"] == "BAD_REQUEST"
    assert resp.json()["error"].startswith("invalid label selector: ")


def test_namespaces_list_only_control_plane(big: MockOpenChoreo) -> None:
    got = names(walk(httpx.Client(base_url=big.url), "/api/v1/namespaces", 1))
    assert got == sorted(big.world.namespaces())
    assert "kube-system" not in got and big.world.get("namespaces", "", "kube-system") is not None


def test_project_filter(big: MockOpenChoreo) -> None:
    ns = _ns(big)
    project = big.world.items("projects", ns)[1]["metadata"]["name"]
    expected = sorted(
        o["metadata"]["name"] for o in big.world.items("components", ns) if o["spec"]["owner"]["projectName"] == project
    )
    with httpx.Client(base_url=big.url) as client:
        assert len(expected) == 50
        assert names(walk(client, f"/api/v1/namespaces/{ns}/components", 7, project=project)) == expected
        pages = walk(client, f"/api/v1/namespaces/{ns}/components", 10, project=project)
        assert names(pages) == expected
        # The server filters in memory: a page with nextCursor may be followed by an empty final page.
        assert pages[-1].json()["items"] == [] and len(pages) > 1
        res = names(walk(client, f"/api/v1/namespaces/{ns}/resources", 7, project=project))
        assert res == [f"{project}-db"]
        assert client.get(f"/api/v1/namespaces/{ns}/resources", params={"project": "nope"}).status_code == 404


def test_component_filter(big: MockOpenChoreo) -> None:
    ns = _ns(big)
    comp = big.world.items("components", ns)[4]["metadata"]["name"]
    with httpx.Client(base_url=big.url) as client:
        wl = walk(client, f"/api/v1/namespaces/{ns}/workloads", 100, component=comp)
        items = [i for p in wl for i in p.json()["items"]]
        assert len(items) == 1 and items[0]["spec"]["owner"]["componentName"] == comp
        rb = [
            i
            for p in walk(client, f"/api/v1/namespaces/{ns}/releasebindings", 3, component=comp)
            for i in p.json()["items"]
        ]
        assert rb and all(i["spec"]["owner"]["componentName"] == comp for i in rb)
        unknown = client.get(f"/api/v1/namespaces/{ns}/workloads", params={"component": "nope"})
        assert unknown.status_code == 200 and unknown.json() == {"items": [], "pagination": {}}
