"""platform_planes fetch and refetch over real HTTP against the mock OpenChoreo API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from openchoreo_sync.client import ApiError, OpenChoreoClient
from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SyncContext
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.model import Collection, ResourceEvent
from openchoreo_sync.plugins.platform_planes import family as platform_planes
from openchoreo_sync.validation import entity_problems

NAMESPACED = ("dataplanes", "workflowplanes", "observabilityplanes")
CLUSTER = ("clusterdataplanes", "clusterworkflowplanes", "clusterobservabilityplanes")


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


async def fetch_all(ctx: SyncContext) -> list[Collection]:
    return [collection async for collection in platform_planes.fetch(ctx=ctx)]


async def test_collections_per_namespace_and_per_cluster_kind(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    got = await fetch_all(ctx)
    names = await ctx.namespace_names()
    expected_keys = [(k, ns) for k in NAMESPACED for ns in names] + [(k, None) for k in CLUSTER]
    assert sorted(((c.name, c.namespace) for c in got), key=str) == sorted(expected_keys, key=str)
    for collection in got:
        assert collection.ok
        expected = [o["metadata"]["name"] for o in mock.world.items(collection.name, collection.namespace or "")]
        assert [r.name for r in collection.resources] == expected
        for resource in collection.resources:
            (entity,) = platform_planes.map_resource(resource=resource, ctx=ctx) or []
            assert entity_problems(entity) == []
    # Upstream lists namespaced workflow/observability planes without limit or cursor; we page them all.
    assert all("limit=100" in r.query for r in mock.stats.records)
    assert mock.stats.count() == 1 + len(NAMESPACED) * len(names) + len(CLUSTER)


async def test_more_than_one_page_of_workflow_planes_is_walked(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    before = len(mock.world.items("workflowplanes", "default"))
    for i in range(130):
        body = {"metadata": {"name": f"wp-{i:03d}", "namespace": "default"}, "spec": {}}
        mock.world.put("workflowplanes", "default", body)
    got = {(c.name, c.namespace): c for c in await fetch_all(ctx)}
    assert len(got[("workflowplanes", "default")].resources) == before + 130
    assert mock.stats.count("/api/v1/namespaces/default/workflowplanes") == 2


async def test_a_failing_collection_is_errored_while_the_others_succeed(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"/namespaces/default/observabilityplanes$", status=500)
    mock.faults.fail(r"/clusterdataplanes$", status=500)
    got = {(c.name, c.namespace): c for c in await fetch_all(ctx)}
    assert isinstance(got.pop(("observabilityplanes", "default")).error, ApiError)
    assert isinstance(got.pop(("clusterdataplanes", None)).error, ApiError)
    assert got and all(c.ok for c in got.values())


async def test_refetch_namespaced_and_cluster_planes(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    namespaced = platform_planes.refetch(event=ResourceEvent("DataPlane", "default", "default", "updated"), ctx=ctx)
    cluster = platform_planes.refetch(event=ResourceEvent("clusterdataplane", "default", None, "updated"), ctx=ctx)
    assert namespaced is not None and cluster is not None
    one, two = await namespaced, await cluster
    assert (one.collection.name, one.collection.namespace, one.gone) == ("dataplanes", "default", False)
    assert [(r.kind, r.namespace) for r in one.collection.resources] == [("DataPlane", "default")]
    assert (two.collection.name, two.collection.namespace, two.gone) == ("clusterdataplanes", None, False)
    assert [(r.kind, r.namespace) for r in two.collection.resources] == [("ClusterDataPlane", None)]
    assert (one.origin, two.origin) == ("DataPlane default/default", "ClusterDataPlane default")


async def test_refetch_of_a_deleted_plane_is_gone(ctx: SyncContext) -> None:
    pending = platform_planes.refetch(event=ResourceEvent("observabilityplane", "nope", "default", "deleted"), ctx=ctx)
    assert pending is not None
    refetched = await pending
    assert refetched.gone and (refetched.collection.name, refetched.collection.namespace) == (
        "observabilityplanes",
        "default",
    )


def test_refetch_declines_other_kinds(ctx: SyncContext) -> None:
    for kind in ("environment", "clustertrait", "dataplanes"):
        assert platform_planes.refetch(event=ResourceEvent(kind, "x", "default", "updated"), ctx=ctx) is None
