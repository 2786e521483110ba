"""``/entities/by-query``, ``by-name``, ``by-uid``, ``POST by-refs`` and ``/entity-facets``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from test_embedded_catalog_helpers import CATALOG, Served, add_components, expect_error, refs_of, served

__all__ = ["served"]

WORKED = "component:default/api-service"


async def walk(served: Served, params: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow nextCursor from the first page to the end; returns (items, responses)."""
    bodies = [await served.ok("/entities/by-query", params)]
    for _ in range(200):
        cursor = bodies[-1]["pageInfo"].get("nextCursor")
        if not cursor:
            break
        bodies.append(await served.ok("/entities/by-query", {"cursor": cursor, "limit": params.get("limit", 200)}))
    return [item for body in bodies for item in body["items"]], bodies


async def test_by_query_cursor_walk_sorted_without_duplicates(served: Served) -> None:
    items, bodies = await walk(served, {"limit": 10, "orderField": "metadata.name,desc"})
    refs = refs_of(items)
    assert len(refs) == len(set(refs)) == len(served.snapshot()) and len(bodies) > 2
    keys = [(e["metadata"]["name"].lower(), r) for e, r in zip(items, refs, strict=True)]
    assert keys == sorted(keys, reverse=True)
    assert {b["totalItems"] for b in bodies} == {len(served.snapshot())}
    assert "prevCursor" not in bodies[0]["pageInfo"] and "nextCursor" not in bodies[-1]["pageInfo"]


async def test_by_query_prev_cursor_returns_previous_page(served: Served) -> None:
    _, bodies = await walk(served, {"limit": 6, "filter": "kind=component,kind=api"})
    assert len(bodies) >= 3
    back = await served.ok("/entities/by-query", {"cursor": bodies[2]["pageInfo"]["prevCursor"], "limit": 6})
    assert refs_of(back["items"]) == refs_of(bodies[1]["items"])
    first = await served.ok("/entities/by-query", {"cursor": back["pageInfo"]["prevCursor"], "limit": 6})
    assert refs_of(first["items"]) == refs_of(bodies[0]["items"])
    assert "prevCursor" not in first["pageInfo"]


async def test_by_query_filter_fields_and_default_order(served: Served) -> None:
    body = await served.ok(
        "/entities/by-query", {"filter": "kind=component,spec.system=url-shortener", "fields": "kind"}
    )
    assert body == {"items": [{"kind": "Component"}], "totalItems": 1, "pageInfo": {}}
    everything = await served.ok("/entities/by-query", {"fields": "metadata.name,kind,metadata.namespace"})
    assert refs_of(everything["items"]) == sorted(served.snapshot())  # no orderField: by ref; default limit 200


async def test_by_query_order_field_excludes_entities_without_it(served: Served) -> None:
    items, bodies = await walk(served, {"orderField": "spec.system", "limit": 5})
    expected = {r for r, e in served.snapshot().items() if e.get("spec", {}).get("system")}
    assert set(refs_of(items)) == expected and bodies[0]["totalItems"] == len(expected)


async def test_by_query_full_text(served: Served) -> None:
    body = await served.ok(
        "/entities/by-query",
        {"fullTextFilterTerm": " SHORT ", "fullTextFilterFields": "metadata.name,metadata.title"},
    )
    expected = {
        r
        for r, e in served.snapshot().items()
        if "short" in e["metadata"]["name"].lower() or "short" in str(e["metadata"].get("title", "")).lower()
    }
    assert set(refs_of(body["items"])) == expected and "system:default/url-shortener" in expected
    by_sort_field = await served.ok(
        "/entities/by-query", {"fullTextFilterTerm": "api-serv", "orderField": "metadata.name"}
    )
    assert WORKED in refs_of(by_sort_field["items"])


async def test_by_query_total_items_exclude_and_default_limit(
    mock_openchoreo_factory: Any, sync_harness_factory: Any
) -> None:
    mock = mock_openchoreo_factory(namespaces=3, projects=4, components=10)
    harness = sync_harness_factory(mock.url)
    assert (await harness.run()).status == "ok"
    total = len(harness.entities())
    assert total > 200
    async with httpx.AsyncClient(base_url=await harness.serve()) as client:
        body = (await client.get(f"{CATALOG}/entities/by-query", params={"fields": "kind"})).json()
        assert len(body["items"]) == 200 and body["totalItems"] == total and body["pageInfo"]["nextCursor"]
        excluded = (
            await client.get(f"{CATALOG}/entities/by-query", params={"totalItems": "exclude", "limit": 1})
        ).json()
        assert excluded["totalItems"] == 0 and len(excluded["items"]) == 1


async def test_by_name_is_case_insensitive_and_404s_like_backstage(served: Served) -> None:
    entity = await served.ok("/entities/by-name/COMPONENT/Default/API-Service")
    assert refs_of([entity]) == [WORKED] and entity["relations"]
    resp = await served.get("/entities/by-name/component/default/missing")
    expect_error(
        resp,
        404,
        "NotFoundError",
        "No entity named 'missing' found, with kind 'component' in namespace 'default'",
    )


async def test_by_uid_round_trip(served: Served) -> None:
    [entity] = await served.ok("/entities", {"filter": "kind=system,metadata.name=url-shortener"})
    assert await served.ok(f"/entities/by-uid/{entity['metadata']['uid']}") == entity
    resp = await served.get("/entities/by-uid/00000000-0000-0000-0000-000000000000")
    expect_error(resp, 404, "NotFoundError", "No entity with uid 00000000-0000-0000-0000-000000000000")


async def test_by_refs_keeps_request_order_with_nulls(served: Served) -> None:
    refs = [
        "system:default/url-shortener",
        "component:default/nope",
        "COMPONENT:Default/API-Service",
        "not a ref",
    ]
    resp = await served.client.post(
        f"{CATALOG}/entities/by-refs", json={"entityRefs": refs, "fields": ["metadata.name"]}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "items": [{"metadata": {"name": "url-shortener"}}, None, {"metadata": {"name": "api-service"}}, None]
    }
    filtered = await served.client.post(
        f"{CATALOG}/entities/by-refs", params={"filter": "kind=component"}, json={"entityRefs": refs[:3]}
    )
    assert refs_of(filtered.json()["items"]) == [None, None, WORKED]


async def test_by_refs_rejects_a_bad_body(served: Served) -> None:
    for body in (b"not json", b"[]", b'{"entityRefs": "x"}', b'{"entityRefs": [], "fields": [1]}'):
        resp = await served.client.post(f"{CATALOG}/entities/by-refs", content=body)
        expect_error(resp, 400, "InputError")


async def test_facets_count_entities_in_original_case(served: Served) -> None:
    body = await served.ok("/entity-facets", [("facet", "kind"), ("facet", "metadata.tags")])
    assert body["facets"]["kind"] == sorted(
        ({"value": k, "count": n} for k, n in Counter(e["kind"] for e in served.snapshot().values()).items()),
        key=lambda f: f["value"],
    )
    assert {
        "value": "Component",
        "count": sum(e["kind"] == "Component" for e in served.snapshot().values()),
    } in body["facets"]["kind"]
    tags = Counter(t for e in served.snapshot().values() for t in set(e["metadata"].get("tags", [])))
    assert {f["value"]: f["count"] for f in body["facets"]["metadata.tags"]} == dict(tags)


async def test_facets_respect_filters_and_keep_the_requested_key(served: Served) -> None:
    add_components(served.mock, ["facet-probe"])
    await served.harness.run()
    body = await served.ok(
        "/entity-facets", {"facet": "Spec.Type", "filter": "kind=component,metadata.namespace=default"}
    )
    expected = Counter(
        e["spec"]["type"]
        for e in served.snapshot().values()
        if e["kind"] == "Component" and e["metadata"].get("namespace") == "default"
    )
    assert {f["value"]: f["count"] for f in body["facets"]["Spec.Type"]} == dict(expected)
    assert sum(expected.values()) >= 2
    expect_error(await served.get("/entity-facets"), 400, "InputError", "Missing facet parameter")
