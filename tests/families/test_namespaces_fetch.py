"""The namespaces family's fetch and refetch over real HTTP: mock OpenChoreo API + the real client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from openchoreo_sync import Collection, ResourceEvent, SyncContext
from openchoreo_sync.client import OpenChoreoClient
from openchoreo_sync.config import AppConfig
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.plugins import namespaces as plugin

SEGMENTS = {
    "environments": "environments",
    "deploymentpipelines": "deploymentpipelines",
    "notificationchannels": "observabilityalertsnotificationchannels",
}


@pytest.fixture
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(WorldSpec(seed=5, namespaces=3, projects=1, components=1)) as running:
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
        yield SyncContext(run_id="fetch", config=config, log=structlog.get_logger(), client=client)


async def fetch(ctx: SyncContext) -> dict[tuple[str, str | None], Collection]:
    out: dict[tuple[str, str | None], Collection] = {}
    async for collection in plugin.fetch(ctx=ctx):
        key = (collection.name, collection.namespace)
        assert key not in out
        out[key] = collection
    return out


async def test_full_fetch(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    collections = await fetch(ctx)
    root = collections[("namespaces", None)]
    assert root.root and root.ok
    names = [r.name for r in root.resources]
    assert "default" in names and "kube-system" not in names
    assert set(collections) == {("namespaces", None)} | {(c, ns) for ns in names for c in SEGMENTS}
    for (name, ns), collection in collections.items():
        assert collection.ok
        if ns is not None:
            assert [r.body for r in collection.resources] == mock.world.items(SEGMENTS[name], ns)
            for resource in collection.resources:
                assert plugin.map_resource(resource=resource, ctx=ctx)
    assert isinstance(ctx.client, OpenChoreoClient)
    assert ctx.client.stats.requests == 1 + 3 * len(names)


async def test_one_failed_walk_fails_only_its_collection(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"/namespaces/default/environments$", status=503)
    collections = await fetch(ctx)
    assert collections[("environments", "default")].error is not None
    assert [k for k, c in collections.items() if not c.ok] == [("environments", "default")]


async def test_failing_namespace_list_fails_the_family(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"^/api/v1/namespaces$", status=500)
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises must propagate
        await fetch(ctx)


@pytest.mark.parametrize(
    ("kind", "name", "collection", "namespace"),
    [
        ("namespace", "default", "namespaces", None),
        ("Environment", "development", "environments", "default"),
        ("deploymentpipeline", "default", "deploymentpipelines", "default"),
    ],
)
async def test_refetch(ctx: SyncContext, kind: str, name: str, collection: str, namespace: str | None) -> None:
    answer = await plugin.refetch(event=ResourceEvent(kind, name, "default", "updated"), ctx=ctx)
    assert answer is not None and not answer.gone
    assert (answer.collection.name, answer.collection.namespace) == (collection, namespace)
    assert [r.name for r in answer.collection.resources] == [name]
    gone = await plugin.refetch(event=ResourceEvent(kind, "no-such-thing", "default", "deleted"), ctx=ctx)
    assert gone is not None and gone.gone and gone.collection.resources == []
    assert (gone.collection.name, gone.collection.namespace) == (collection, namespace)


async def test_refetch_channel_and_foreign_kinds(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    channels = mock.world.items("observabilityalertsnotificationchannels", "default")
    if channels:
        name = channels[0]["metadata"]["name"]
        event = ResourceEvent("ObservabilityAlertsNotificationChannel", name, "default", "created")
        answer = await plugin.refetch(event=event, ctx=ctx)
        assert answer is not None and answer.collection.name == "notificationchannels"
    assert await plugin.refetch(event=ResourceEvent("component", "api-service", "default", "updated"), ctx=ctx) is None
