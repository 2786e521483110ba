"""Error shapes (400/404/401) and the static bearer token, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_embedded_catalog_helpers import CATALOG, TOKEN, Served, expect_error, serve, served

__all__ = ["served"]

BAD_REQUESTS = [
    ("/entities", {"filter": "=component"}, "Invalid filter, '=component' is not a valid statement"),
    ("/entities", {"filter": "kind=component, =x"}, "Invalid filter, '=x' is not a valid statement"),
    ("/entities", {"limit": "0"}, "Invalid limit, must be greater than zero"),
    ("/entities", {"limit": "ten"}, "Invalid limit, not an integer"),
    ("/entities", {"limit": "1.5"}, "Invalid limit, not an integer"),
    ("/entities", {"offset": "-1"}, "Invalid offset, must be zero or greater"),
    ("/entities", {"after": ""}, "Invalid after, must not be empty"),
    ("/entities", {"after": "%%%"}, "Malformed after cursor, could not be parsed"),
    ("/entities", {"order": "up:metadata.name"}, 'Invalid order parameter "up:metadata.name"'),
    ("/entities/by-query", {"cursor": "bm90IGpzb24"}, "Malformed cursor"),
    ("/entities/by-query", {"cursor": "e30"}, "Malformed cursor"),
    (
        "/entities/by-query",
        {"orderField": "metadata.name,sideways"},
        "Invalid order field order, must be asc or desc",
    ),
    ("/entities/by-query", {"limit": "-1"}, "Invalid limit"),
    ("/entities/by-query", {"totalItems": "maybe"}, 'Invalid totalItems parameter "maybe"'),
    ("/entity-facets", {"facet": "kind", "filter": "=x"}, "Invalid filter"),
]


@pytest.mark.parametrize(("path", "params", "message"), BAD_REQUESTS)
async def test_bad_parameters_are_400_input_errors(
    served: Served, path: str, params: dict[str, str], message: str
) -> None:
    body = expect_error(await served.get(path, params), 400, "InputError")
    assert body["error"]["message"].startswith(message), body


async def test_empty_filter_statements_are_ignored_like_backstage(served: Served) -> None:
    everything = await served.ok("/entities", {"fields": "kind"})
    assert await served.ok("/entities", {"filter": " , ", "fields": "kind"}) == everything


@pytest.fixture
def token_overrides() -> dict[str, Any]:
    return {"openchoreo": {"server": {"token": TOKEN}}}


async def test_token_required_when_configured(
    mock_openchoreo: Any, sync_harness_factory: Any, token_overrides: dict[str, Any]
) -> None:
    _, url = await serve(mock_openchoreo, sync_harness_factory, token_overrides)
    async with httpx.AsyncClient(base_url=url) as client:
        for method, path, kw in (
            ("GET", "/entities", {"params": {"filter": "kind=domain"}}),
            ("GET", "/entities/by-query", {}),
            ("GET", "/entities/by-name/component/default/api-service", {}),
            ("POST", "/entities/by-refs", {"json": {"entityRefs": []}}),
            ("GET", "/entity-facets", {"params": {"facet": "kind"}}),
        ):
            missing = await client.request(method, f"{CATALOG}{path}", **kw)
            expect_error(missing, 401, "AuthenticationError", "Missing credentials")
            wrong = await client.request(method, f"{CATALOG}{path}", headers={"Authorization": "Bearer nope"}, **kw)
            expect_error(wrong, 401, "AuthenticationError", "Invalid credentials")
            right = await client.request(method, f"{CATALOG}{path}", headers={"Authorization": f"Bearer {TOKEN}"}, **kw)
            assert right.status_code == 200, right.text
        assert (await client.get("/readyz")).status_code == 200  # probes stay public


async def test_no_token_configured_means_open(served: Served) -> None:
    resp = await served.client.get(f"{CATALOG}/entities", params={"filter": "kind=domain"})
    assert resp.status_code == 200 and resp.json()
