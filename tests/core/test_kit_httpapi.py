"""kit.httpapi.ExternalApi: a second HTTP API read with the core client's care (the mock's directory)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from pydantic import SecretStr

from openchoreo_sync.config import ClientConfig
from openchoreo_sync.kit.httpapi import ApiError, ExternalApi, MalformedResponseError, PaginationError
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec

FAST = ClientConfig(backoff_base=0.01, timeout=5, retries=2, max_pages=50)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(WorldSpec(namespaces=0)) as m:
        yield m


@pytest.fixture(autouse=True)
def clean(mock: MockOpenChoreo) -> Iterator[None]:
    yield
    mock.faults.reset()
    mock.directory.max_limit = 100
    mock.directory.token = None


def api(base_url: str, **kw: Any) -> ExternalApi:
    return ExternalApi(base_url, name="test", client=kw.pop("client", FAST), log=structlog.get_logger(), **kw)


async def test_walk_follows_a_server_that_caps_limit(mock: MockOpenChoreo) -> None:
    mock.directory.max_limit = 4
    async with api(mock.thunder_url) as client:
        users = await client.walk_offset("/users", items_key="users", what="users")
        assert client.stats.pages == -(-len(mock.directory.users) // 4)
    assert [u["id"] for u in users] == list(mock.directory.users)


async def test_a_500_fails_the_walk_at_once_naming_the_page(mock: MockOpenChoreo) -> None:
    mock.directory.max_limit = 4
    mock.faults.fail(r"^/thunder/users$", status=500, page=2)
    mock.stats.reset()
    async with api(mock.thunder_url) as client:
        with pytest.raises(ApiError, match=r"page 2, offset 4\): 500") as caught:
            await client.walk_offset("/users", items_key="users", what="users")
    assert caught.value.status == 500
    assert mock.stats.snapshot()["by_path"]["/thunder/users"] == 2  # not retried


async def test_a_gateway_error_is_retried(mock: MockOpenChoreo) -> None:
    mock.faults.fail(r"^/thunder/groups$", status=503, times=1)
    async with api(mock.thunder_url) as client:
        groups = await client.walk_offset("/groups", items_key="groups", what="groups")
    assert len(groups) == len(mock.directory.groups)


async def test_a_static_token_is_sent_and_a_401_carries_the_hint(mock: MockOpenChoreo) -> None:
    mock.directory.token = "static-token-5678"
    async with api(mock.thunder_url, token=SecretStr("static-token-5678")) as client:
        assert await client.walk_offset("/users", items_key="users", what="users")
        assert "static-token" not in repr(client)
    async with api(mock.thunder_url, hints={401: "set the token"}) as client:
        with pytest.raises(ApiError, match="set the token") as caught:
            await client.get_json("/users", what="users")
    assert "static-token" not in str(caught.value)


def transport(pages: Any) -> httpx.MockTransport:
    """Bodies a real server would not send (a fault no mock route produces)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages(request))

    return httpx.MockTransport(handler)


async def test_a_server_ignoring_offset_without_a_total_is_stopped() -> None:
    full_page = {"users": [{"id": str(i)} for i in range(100)], "links": []}
    client = api("http://127.0.0.1:9", transport=transport(lambda _: full_page))
    async with client:
        with pytest.raises(PaginationError, match="maxPages"):
            await client.walk_offset("/users", items_key="users", what="users")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"users": {"not": "a list"}, "totalResults": 1}, "'users' is a dict"),
        ({"totalResults": 1}, "no 'users' key"),
        ({"users": ["x"], "totalResults": 1}, r"users\[0\] is a str"),
        ({"users": [], "totalResults": "many"}, "'totalResults' is 'many'"),
        ([], "expected a JSON object"),
    ],
)
async def test_malformed_pages_fail_loudly(body: Any, problem: str) -> None:
    async with api("http://127.0.0.1:9", transport=transport(lambda _: body)) as client:
        with pytest.raises(MalformedResponseError, match=problem):
            await client.walk_offset("/users", items_key="users", what="users")


async def test_the_walk_ends_on_total_or_short_or_empty_pages() -> None:
    seen: list[str] = []

    def pages(request: httpx.Request) -> dict[str, Any]:
        offset = int(request.url.params["offset"])
        seen.append(request.url.params["offset"])
        items = [{"id": str(i)} for i in range(offset, min(offset + 2, 5))]
        return {"users": items}  # no total: a short page ends it

    async with api("http://127.0.0.1:9", transport=transport(pages)) as client:
        users = await client.walk_offset("/users", items_key="users", what="users", page_size=2)
    assert [u["id"] for u in users] == ["0", "1", "2", "3", "4"] and seen == ["0", "2", "4"]
