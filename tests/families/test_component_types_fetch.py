"""component_types fetch and refetch over real HTTP against the mock OpenChoreo API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from openchoreo_sync.client import ApiError, OpenChoreoClient
from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.model import Collection, ResourceEvent
from openchoreo_sync.plugins.component_types import family as component_types
from openchoreo_sync.validation import entity_problems

COLLECTIONS = ("componenttypes", "traits", "workflows", "projecttypes", "resourcetypes")


@pytest.fixture
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(WorldSpec(namespaces=2, projects=0, components=0, example=True)) as running:
        yield running


@pytest.fixture
async def ctx(mock: MockOpenChoreo) -> AsyncIterator[SyncContext]:
    config = AppConfig.model_validate(
        {
            "openchoreo": {
                "baseUrl": mock.url,
                "features": {"auth": {"enabled": False}},
                "client": {"retries": 0},
            }
        }
    )
    async with OpenChoreoClient(config.openchoreo) as client:
        yield SyncContext(run_id="t", config=config, log=structlog.get_logger(), client=client)


async def namespaces(ctx: SyncContext) -> list[str]:
    """The namespaces the API lists (control-plane namespaces only); cached by the context."""
    return await ctx.namespace_names()


async def fetch_all(ctx: SyncContext) -> list[Collection]:
    return [collection async for collection in component_types.fetch(ctx=ctx)]


async def test_one_collection_per_kind_and_namespace_with_minimal_requests(
    mock: MockOpenChoreo, ctx: SyncContext
) -> None:
    got = await fetch_all(ctx)
    names = await namespaces(ctx)
    assert len(names) == 3, "default and two generated namespaces; kube-system is not listed"
    assert sorted((c.name, c.namespace) for c in got) == sorted((k, ns) for k in COLLECTIONS for ns in names)
    for collection in got:
        assert collection.ok and not collection.root
        expected = [o["metadata"]["name"] for o in mock.world.items(collection.name, collection.namespace or "")]
        assert [r.name for r in collection.resources] == expected
        assert {r.namespace for r in collection.resources} <= {collection.namespace}
    assert sum(len(c.resources) for c in got) > 0
    # One request per collection (each fits a page) plus the shared namespace list.
    assert mock.stats.count() == 1 + len(COLLECTIONS) * len(names)
    assert all("limit=100" in r.query for r in mock.stats.records)


async def test_every_fetched_resource_maps_to_a_valid_entity(ctx: SyncContext) -> None:
    for collection in await fetch_all(ctx):
        for resource in collection.resources:
            (entity,) = component_types.map_resource(resource=resource, ctx=ctx) or []
            assert entity_problems(entity) == []


async def test_a_failing_collection_is_errored_while_the_others_succeed(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"/namespaces/default/traits$", status=500)
    got = {(c.name, c.namespace): c for c in await fetch_all(ctx)}
    failed = got.pop(("traits", "default"))
    assert isinstance(failed.error, ApiError) and failed.resources == []
    assert all(c.ok for c in got.values())
    assert len(got) == len(COLLECTIONS) * len(await namespaces(ctx)) - 1


async def test_namespace_list_failure_fails_the_family(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"^/api/v1/namespaces$", status=500)
    with pytest.raises(ApiError):
        await fetch_all(ctx)


async def test_refetch_returns_the_object_in_its_full_sync_collection(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    name = mock.world.items("componenttypes", "default")[0]["metadata"]["name"]
    pending = component_types.refetch(event=ResourceEvent("ComponentType", name, "default", "updated"), ctx=ctx)
    assert pending is not None
    refetched = await pending
    assert (refetched.collection.name, refetched.collection.namespace) == ("componenttypes", "default")
    assert [r.name for r in refetched.collection.resources] == [name]
    assert refetched.collection.resources[0].kind == "ComponentType"
    assert not refetched.gone and refetched.origin == f"ComponentType default/{name}"
    assert mock.stats.count(f"/api/v1/namespaces/default/componenttypes/{name}") == 1


async def test_refetch_of_a_deleted_object_is_gone(ctx: SyncContext) -> None:
    pending = component_types.refetch(event=ResourceEvent("trait", "vanished", None, "deleted"), ctx=ctx)
    assert pending is not None
    refetched = await pending
    assert refetched.gone and refetched.collection.resources == []
    assert (refetched.collection.name, refetched.collection.namespace) == ("traits", "default")


def test_refetch_declines_other_kinds_without_a_coroutine(ctx: SyncContext) -> None:
    for kind in ("component", "clustertrait", "dataplane", "traittype"):
        assert component_types.refetch(event=ResourceEvent(kind, "x", "default", "updated"), ctx=ctx) is None
