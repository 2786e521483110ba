"""``GET /entities``: filters, projection, ordering and paging, checked against the stored snapshot."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from test_embedded_catalog_helpers import Served, expect_error, refs_of, served

__all__ = ["served"]

WORKED = "component:default/api-service"


def where(s: Served, predicate: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {ref for ref, e in s.snapshot().items() if predicate(e)}


async def test_issue_curl_domains(served: Served) -> None:
    got = refs_of(await served.ok("/entities", {"filter": "kind=domain"}))
    assert "domain:default/default" in got
    assert sorted(got) == sorted(where(served, lambda e: e["kind"] == "Domain"))


async def test_issue_curl_components_of_a_system(served: Served) -> None:
    got = await served.ok("/entities", {"filter": "kind=component,spec.system=url-shortener"})
    assert refs_of(got) == [WORKED]
    assert got[0]["spec"]["system"] == "url-shortener"


async def test_keys_and_values_are_case_insensitive(served: Served) -> None:
    got = await served.ok("/entities", {"filter": "KIND=Component,Spec.System=URL-Shortener"})
    assert refs_of(got) == [WORKED]


async def test_repeated_filters_are_or(served: Served) -> None:
    got = refs_of(await served.ok("/entities", [("filter", "kind=domain"), ("filter", "kind=system")]))
    assert set(got) == where(served, lambda e: e["kind"] in ("Domain", "System"))
    assert len(got) == len(set(got))


async def test_repeated_key_in_one_filter_is_any_of(served: Served) -> None:
    got = refs_of(await served.ok("/entities", {"filter": "kind=domain,kind=system"}))
    assert set(got) == where(served, lambda e: e["kind"] in ("Domain", "System"))


async def test_and_narrows_or_widens(served: Served) -> None:
    params = [("filter", "kind=component,metadata.namespace=default"), ("filter", "kind=domain")]
    got = set(refs_of(await served.ok("/entities", params)))
    expected = where(
        served,
        lambda e: (e["kind"] == "Component" and e["metadata"].get("namespace") == "default") or e["kind"] == "Domain",
    )
    assert got == expected and WORKED in got


async def test_key_alone_means_exists(served: Served) -> None:
    got = set(refs_of(await served.ok("/entities", {"filter": "spec.system"})))
    assert got == where(served, lambda e: "system" in e.get("spec", {}))
    assert got and got != set(served.snapshot())


async def test_empty_value_matches_only_empty_strings(served: Served) -> None:
    assert await served.ok("/entities", {"filter": "kind="}) == []


async def test_relations_filter_uses_normalised_refs(served: Served) -> None:
    got = set(refs_of(await served.ok("/entities", {"filter": "relations.partOf=system:default/url-shortener"})))
    assert got == {WORKED, "api:default/url-shortener-api-service-rest-api"}
    inverse = refs_of(await served.ok("/entities", {"filter": "relations.hasPart=component:default/api-service"}))
    assert inverse == ["system:default/url-shortener"]


async def test_dotted_annotation_keys(served: Served) -> None:
    got = set(
        refs_of(await served.ok("/entities", {"filter": "metadata.annotations.openchoreo.io/project=url-shortener"}))
    )
    expected = where(
        served, lambda e: e["metadata"].get("annotations", {}).get("openchoreo.io/project") == "url-shortener"
    )
    assert WORKED in got and got == expected


async def test_array_values_match_any_item(served: Served) -> None:
    got = set(refs_of(await served.ok("/entities", {"filter": "metadata.tags=Project"})))
    assert got == where(served, lambda e: "project" in e["metadata"].get("tags", []))
    assert "system:default/url-shortener" in got


async def test_entities_carry_relations_both_ways_and_stable_identity(served: Served) -> None:
    [component] = await served.ok("/entities", {"filter": "kind=component,metadata.name=api-service"})
    assert {"type": "partOf", "targetRef": "system:default/url-shortener"} in component["relations"]
    [system] = await served.ok("/entities", {"filter": "kind=system,metadata.name=url-shortener"})
    assert {"type": "hasPart", "targetRef": WORKED} in system["relations"]
    uid, etag = component["metadata"]["uid"], component["metadata"]["etag"]
    assert re.fullmatch(r"[0-9a-f-]{36}", uid) and re.fullmatch(r"[0-9a-f]{40}", etag)
    await served.harness.run()  # nothing changed upstream: same uid and etag
    [again] = await served.ok("/entities", {"filter": "kind=component,metadata.name=api-service"})
    assert (again["metadata"]["uid"], again["metadata"]["etag"]) == (uid, etag)


async def test_fields_projection(served: Served) -> None:
    got = await served.ok(
        "/entities",
        [
            ("filter", "kind=component,spec.system=url-shortener"),
            ("fields", "kind, metadata.name"),
            ("fields", "metadata.annotations.openchoreo.io/project,spec.nothing"),
        ],
    )
    assert got == [
        {
            "kind": "Component",
            "metadata": {"name": "api-service", "annotations": {"openchoreo.io/project": "url-shortener"}},
        }
    ]


async def test_array_fields_are_rejected(served: Served) -> None:
    resp = await served.get("/entities", {"fields": "relations[0]"})
    expect_error(resp, 400, "InputError", 'Invalid field "relations[0]", array type fields are not supported')


async def test_default_order_is_by_ref(served: Served) -> None:
    got = refs_of(await served.ok("/entities", {"fields": "kind,metadata.name,metadata.namespace"}))
    assert got == sorted(served.snapshot())


async def test_order_by_name_both_ways(served: Served) -> None:
    names = sorted(e["metadata"]["name"].lower() for e in served.snapshot().values())
    asc = await served.ok("/entities", {"order": "asc:metadata.name", "fields": "metadata.name"})
    assert [e["metadata"]["name"].lower() for e in asc] == names
    desc = await served.ok("/entities", {"order": "desc:metadata.name", "fields": "metadata.name"})
    assert [e["metadata"]["name"].lower() for e in desc] == names[::-1]


async def test_order_missing_values_last_and_tie_breaks(served: Served) -> None:
    params = [
        ("order", "desc:spec.system"),
        ("order", "asc:metadata.name"),
        ("fields", "spec.system,metadata.name"),
    ]
    got = await served.ok("/entities", params)
    systems = [e.get("spec", {}).get("system") for e in got]
    present = [s for s in systems if s is not None]
    assert present and systems[: len(present)] == sorted(present, key=str.lower, reverse=True)
    assert all(s is None for s in systems[len(present) :])
    for first, second in itertools.pairwise(got):
        if first.get("spec", {}).get("system") == second.get("spec", {}).get("system"):
            assert first["metadata"]["name"].lower() <= second["metadata"]["name"].lower()


async def test_offset_paging_covers_everything_once(served: Served) -> None:
    everything = refs_of(await served.ok("/entities"))
    seen: list[str | None] = []
    offset = 0
    while True:
        page = refs_of(await served.ok("/entities", {"limit": 7, "offset": offset}))
        seen += page
        if len(page) < 7:
            break
        offset += 7
    assert seen == everything and len(set(seen)) == len(everything) == len(served.snapshot())


async def test_link_header_after_cursor_walks_all_pages(served: Served) -> None:
    expected = refs_of(await served.ok("/entities", {"filter": "kind=component", "order": "asc:metadata.name"}))
    url: str | None = "/api/catalog/entities?filter=kind%3Dcomponent&order=asc:metadata.name&limit=4"
    seen: list[str | None] = []
    for _ in range(100):
        assert url is not None
        resp = await served.client.get(url)
        assert resp.status_code == 200, resp.text
        seen += refs_of(resp.json())
        link = resp.headers.get("link")
        if not link:
            break
        url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)  # type: ignore[union-attr]
    assert seen == expected and len(expected) > 4


async def test_stale_annotation_is_filterable(served: Served) -> None:
    served.mock.faults.configure({"rules": [{"path": "/namespaces/default/environments$", "status": 500}]})
    result = await served.harness.run()
    assert result.status == "partial", result.summary
    key = "metadata.annotations.openchoreo-sync.io/stale-since"
    got = set(refs_of(await served.ok("/entities", {"filter": key})))
    expected = where(served, lambda e: "openchoreo-sync.io/stale-since" in e["metadata"].get("annotations", {}))
    assert got == expected and got
    assert all(ref.startswith("environment:default/") for ref in got)
    fresh = set(refs_of(await served.ok("/entities", {"filter": "kind=environment,metadata.namespace=meadow-0"})))
    assert fresh and not fresh & got
