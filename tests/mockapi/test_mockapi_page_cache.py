"""The mock keeps rendered list pages (core/mockapi/server.py): the same request, the same bytes,
and never a page of a snapshot that is no longer the one asked for."""

from __future__ import annotations

import httpx
import pytest

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec

WORLD = WorldSpec(seed=2, namespaces=1, projects=2, components=3, example=False)


@pytest.fixture
def mock():
    with MockOpenChoreo(WORLD) as m:
        yield m


def walk(client: httpx.Client, path: str, limit: int = 2) -> list[bytes]:
    """Every page of a list, as the bytes the mock sent."""
    pages: list[bytes] = []
    cursor = None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.content)
        cursor = response.json()["pagination"].get("nextCursor")
        if not cursor:
            return pages


def test_a_page_asked_again_is_the_same_and_a_change_is_seen_at_once(mock):
    namespace = mock.world.namespaces()[0]
    path = f"/api/v1/namespaces/{namespace}/components"
    with httpx.Client(base_url=mock.url) as client:
        first = walk(client, path)
        assert len(first) > 1
        assert walk(client, path) == first

        body = mock.world.items("components", namespace)[0]
        body["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = "changed in the world"
        mock.world.put("components", namespace, body)
        after = walk(client, path)
        assert b"changed in the world" in b"".join(after)
        assert after != first

        # Filters are part of the page: a project's components are not the namespace's.
        project = mock.world.items("projects", namespace)[0]["metadata"]["name"]
        filtered = client.get(path, params={"limit": "100", "project": project}).json()["items"]
        everything = client.get(path, params={"limit": "100"}).json()["items"]
        assert {c["spec"]["owner"]["projectName"] for c in filtered} == {project}
        assert len(filtered) < len(everything)


def test_a_snapshot_swapped_in_at_the_same_version_is_served(mock):
    """A reset world (or a test injecting raw items) may reuse a resource version."""
    namespace = mock.world.namespaces()[0]
    path = f"/api/v1/namespaces/{namespace}/environments"
    with httpx.Client(base_url=mock.url) as client:
        before = client.get(path, params={"limit": "100"}).content
        world = mock.world
        with world._lock:
            collection = world._cols[("environments", namespace)]
            current = collection.history[-1]
            items = {**current.items, "zz-swapped": {**next(iter(current.items.values())), "extra": "swapped"}}
            collection.history[-1] = type(current)(current.rv, sorted(items), items)
        after = client.get(path, params={"limit": "100"}).content
        assert after != before and b"zz-swapped" not in before
        assert b'"extra":"swapped"' in after


def test_a_fault_page_is_not_kept(mock):
    namespace = mock.world.namespaces()[0]
    path = f"/api/v1/namespaces/{namespace}/components"
    with httpx.Client(base_url=mock.url) as client:
        clean = client.get(path, params={"limit": "2"}).content
        rule = mock.faults.add(path=path, action="cursor_loop")
        looped = client.get(path, params={"limit": "2"}).json()
        assert looped["pagination"]["nextCursor"]
        mock.faults.rules.remove(rule)
        assert client.get(path, params={"limit": "2"}).content == clean
