"""cluster_kinds fetch and refetch over real HTTP against the mock OpenChoreo API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from openchoreo_sync.client import ApiError, OpenChoreoClient
from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.model import Collection, ResourceEvent
from openchoreo_sync.plugins.component_types.cluster import family as cluster_kinds
from openchoreo_sync.validation import entity_problems

COLLECTIONS = (
    "clustercomponenttypes",
    "clustertraits",
    "clusterworkflows",
    "clusterprojecttypes",
    "clusterresourcetypes",
)


@pytest.fixture
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(WorldSpec(namespaces=1, projects=0, components=0, example=True)) as running:
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


async def fetch_all(ctx: SyncContext) -> list[Collection]:
    return [collection async for collection in cluster_kinds.fetch(ctx=ctx)]


async def test_one_collection_per_cluster_kind_without_the_namespace_list(
    mock: MockOpenChoreo, ctx: SyncContext
) -> None:
    got = await fetch_all(ctx)
    assert sorted((c.name, c.namespace) for c in got) == sorted((k, None) for k in COLLECTIONS)
    for collection in got:
        assert collection.ok
        expected = [o["metadata"]["name"] for o in mock.world.items(collection.name, "")]
        assert [r.name for r in collection.resources] == expected
        for resource in collection.resources:
            assert resource.namespace is None
            (entity,) = cluster_kinds.map_resource(resource=resource, ctx=ctx) or []
            assert entity_problems(entity) == []
    assert all(c.resources for c in got)
    assert mock.stats.count() == len(COLLECTIONS), "one request per cluster kind, no namespace list"
    assert mock.stats.count("/api/v1/namespaces") == 0


async def test_a_failing_cluster_collection_is_errored_while_the_others_succeed(
    mock: MockOpenChoreo, ctx: SyncContext
) -> None:
    mock.faults.fail(r"/clusterworkflows$", status=503)
    got = {c.name: c for c in await fetch_all(ctx)}
    assert isinstance(got.pop("clusterworkflows").error, ApiError)
    assert sorted(got) == sorted(set(COLLECTIONS) - {"clusterworkflows"})
    assert all(c.ok and c.resources for c in got.values())


async def test_refetch_ignores_the_event_namespace(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    name = mock.world.items("clustertraits", "")[0]["metadata"]["name"]
    pending = cluster_kinds.refetch(event=ResourceEvent("ClusterTrait", name, "some-ns", "created"), ctx=ctx)
    assert pending is not None
    refetched = await pending
    assert (refetched.collection.name, refetched.collection.namespace) == ("clustertraits", None)
    assert [(r.kind, r.name, r.namespace) for r in refetched.collection.resources] == [("ClusterTrait", name, None)]
    assert refetched.origin == f"ClusterTrait {name}" and not refetched.gone
    assert mock.stats.count(f"/api/v1/clustertraits/{name}") == 1


async def test_refetch_of_a_deleted_object_is_gone(ctx: SyncContext) -> None:
    pending = cluster_kinds.refetch(event=ResourceEvent("clusterworkflow", "gone-now", None, "deleted"), ctx=ctx)
    assert pending is not None
    refetched = await pending
    assert refetched.gone and refetched.collection.resources == []
    assert (refetched.collection.name, refetched.collection.namespace) == ("clusterworkflows", None)


async def test_refetch_error_other_than_404_propagates(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"/clusterprojecttypes/", status=403)
    pending = cluster_kinds.refetch(event=ResourceEvent("clusterprojecttype", "default", None, "updated"), ctx=ctx)
    assert pending is not None
    with pytest.raises(ApiError):
        await pending


def test_refetch_declines_other_kinds(ctx: SyncContext) -> None:
    for kind in ("componenttype", "clusterdataplane", "clustertraittype"):
        assert cluster_kinds.refetch(event=ResourceEvent(kind, "x", None, "updated"), ctx=ctx) is None
