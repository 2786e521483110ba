"""List walks against the mock API: minimum request count, restarts, guards, bad bodies."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from client_helpers import make_config

from openchoreo_sync.client import (
    ApiError,
    MalformedResponseError,
    OpenChoreoClient,
    PaginationError,
    ResponseTooLargeError,
)
from openchoreo_sync.client.pagination import PageCounts
from openchoreo_sync.client.requester import Slots
from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.testing.mockapi_fixtures import MockFactory

ENVS = "/api/v1/namespaces/big/environments"


def fill(mock: MockOpenChoreo, collection: str, namespace: str, count: int, **extra: Any) -> None:
    for i in range(count):
        mock.world.put(collection, namespace, {"metadata": {"name": f"obj-{i:04d}", **extra}, "spec": {}})


@pytest.fixture
def empty_mock(mock_openchoreo_factory: MockFactory) -> MockOpenChoreo:
    return mock_openchoreo_factory(namespaces=0, projects=0, components=0, example=False)


@pytest.mark.parametrize("count", [0, 1, 100, 101, 250])
async def test_every_page_with_minimum_requests(empty_mock: MockOpenChoreo, count: int) -> None:
    fill(empty_mock, "environments", "big", count)
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        items = await client.list_all(ENVS, what="environments for namespace big")
    assert [i["metadata"]["name"] for i in items] == [f"obj-{i:04d}" for i in range(count)]
    expected = max(1, math.ceil(count / 100))
    assert client.stats.requests == expected
    assert client.stats.by_path == {"/api/v1/namespaces/{namespace}/environments": expected}
    assert empty_mock.stats.count(ENVS) == expected
    assert all("limit=100" in r.query for r in empty_mock.stats.records)


async def test_cursor_and_params_passed_back_unchanged(empty_mock: MockOpenChoreo) -> None:
    fill(empty_mock, "environments", "big", 150, labels={"tier": "gold"})
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        items = await client.list_all(ENVS, {"labelSelector": "tier=gold"}, what="environments")
    assert len(items) == 150
    first, second = (r.query for r in empty_mock.stats.records)
    assert "labelSelector=tier%3Dgold" in first and "cursor=" not in first
    assert "labelSelector=tier%3Dgold" in second and "limit=100" in second and "cursor=" in second


async def test_many_collections_share_the_in_flight_limit(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory(namespaces=0, projects=0, components=0, example=False, latency_ms=30)
    for n in range(6):
        fill(mock, "environments", f"ns{n}", 120)
    config = make_config(mock.url, max_in_flight=2)
    async with OpenChoreoClient(config) as client:
        results = await asyncio.gather(
            *(client.list_all(f"/api/v1/namespaces/ns{n}/environments", what="environments") for n in range(6))
        )
    assert [len(r) for r in results] == [120] * 6
    assert client.stats.requests == 12
    assert client.stats.peak_in_flight == 2


async def test_the_longest_walk_left_goes_first(mock_openchoreo_factory: MockFactory) -> None:
    """One slot: a walk's next page is served before first pages queued behind its first (first
    come would serve it last), and once the lists were walked, a list that had more pages is
    served before short lists queued ahead of it (the clients share their page counts)."""
    mock = mock_openchoreo_factory(namespaces=0, projects=0, components=0, example=False, latency_ms=20)
    fill(mock, "environments", "long", 250)
    for n in range(3):
        fill(mock, "environments", f"short{n}", 1)
    counts = PageCounts()

    async def walk_all(long_last: bool) -> list[str]:
        mock.stats.reset()
        paths = [f"/api/v1/namespaces/short{n}/environments" for n in range(3)]
        paths.insert(len(paths) if long_last else 0, "/api/v1/namespaces/long/environments")
        async with OpenChoreoClient(make_config(mock.url, max_in_flight=1), page_counts=counts) as client:
            await asyncio.gather(*(client.list_all(path, what=path) for path in paths))
        return [r.path.split("/")[4] + (" next" if "cursor=" in r.query else "") for r in mock.stats.records]

    assert await walk_all(long_last=False) == ["long", "long next", "long next", "short0", "short1", "short2"]
    assert await walk_all(long_last=True) == ["short0", "long", "long next", "long next", "short1", "short2"]


async def test_500_mid_walk_restarts_the_collection_once(empty_mock: MockOpenChoreo) -> None:
    fill(empty_mock, "environments", "big", 250)
    empty_mock.faults.fail(r"/environments$", status=500, page=2, times=1)
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        items = await client.list_all(ENVS, what="environments")
    assert len(items) == 250 and len({i["metadata"]["name"] for i in items}) == 250
    assert client.stats.restarts == 1
    assert client.stats.requests == 2 + 3  # page 1, failed page 2, then a full walk of 3


async def test_expired_cursor_restarts_then_fails(empty_mock: MockOpenChoreo) -> None:
    fill(empty_mock, "environments", "big", 250)
    empty_mock.faults.fail(r"/environments$", status=500, page=2)
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(ENVS, what="environments for namespace big")
    assert caught.value.status == 500 and caught.value.code == "INTERNAL_ERROR"
    assert client.stats.restarts == 1 and client.stats.requests == 4
    assert str(caught.value) == (
        "Failed to fetch environments for namespace big: 500 Internal Server Error - "
        "Internal server error (INTERNAL_ERROR)"
    )


async def test_500_on_first_page_is_not_restarted(empty_mock: MockOpenChoreo) -> None:
    empty_mock.faults.fail(r"/environments$", status=500, times=1)
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        with pytest.raises(ApiError):
            await client.list_all(ENVS, what="environments")
    assert client.stats.requests == 1 and client.stats.restarts == 0


async def test_cursor_loop_is_stopped_and_names_the_path(empty_mock: MockOpenChoreo) -> None:
    fill(empty_mock, "environments", "big", 5)
    empty_mock.faults.add(path=r"/environments$", action="cursor_loop")
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        with pytest.raises(PaginationError, match=ENVS):
            await client.list_all(ENVS, what="environments")
    assert client.stats.requests <= 3


async def test_max_pages_guard_names_the_path(empty_mock: MockOpenChoreo) -> None:
    fill(empty_mock, "environments", "big", 450)
    async with OpenChoreoClient(make_config(empty_mock.url, max_pages=3)) as client:
        with pytest.raises(PaginationError) as caught:
            await client.list_all(ENVS, what="environments")
    assert ENVS in str(caught.value) and "maxPages (3)" in str(caught.value)
    assert client.stats.requests == 3


async def test_truncated_json_is_a_malformed_response(empty_mock: MockOpenChoreo) -> None:
    empty_mock.faults.add(path=r"/environments$", action="malformed")
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        with pytest.raises(MalformedResponseError) as caught:
            await client.list_all(ENVS, what="environments")
    assert ENVS in str(caught.value) and "not valid JSON" in str(caught.value)


async def test_wrong_shape_is_a_malformed_response(empty_mock: MockOpenChoreo) -> None:
    empty_mock.faults.add(path=r"/environments$", action="wrong_types")
    async with OpenChoreoClient(make_config(empty_mock.url)) as client:
        with pytest.raises(MalformedResponseError, match=r"'items' is a dict, not a list"):
            await client.list_all(ENVS, what="environments")


async def test_oversize_response_is_refused(empty_mock: MockOpenChoreo) -> None:
    fill(empty_mock, "environments", "big", 3, annotations={"blob": "x" * 50_000})
    async with OpenChoreoClient(make_config(empty_mock.url, max_response_bytes=20_000)) as client:
        with pytest.raises(ResponseTooLargeError) as caught:
            await client.list_all(ENVS, what="environments")
    assert ENVS in str(caught.value) and "maxResponseBytes (20000 bytes)" in str(caught.value)


async def test_a_slot_given_to_a_cancelled_waiter_is_handed_on() -> None:
    slots = Slots(1)
    await slots.acquire(0)
    queued = asyncio.ensure_future(slots.acquire(0))
    given = asyncio.ensure_future(slots.acquire(5))
    await asyncio.sleep(0)
    queued.cancel()  # cancelled while waiting: it leaves the queue
    slots.release()  # the slot goes to ``given``, which is cancelled before it runs
    given.cancel()
    await asyncio.gather(queued, given, return_exceptions=True)
    await asyncio.wait_for(slots.acquire(0), 1)  # the slot came back
