"""The components family's fetch and refetch over real HTTP: mock OpenChoreo API + the real client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog

from openchoreo_sync import Collection, ResourceEvent, SyncContext
from openchoreo_sync.client import OpenChoreoClient
from openchoreo_sync.config import AppConfig
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.plugins import components as plugin

SPEC = WorldSpec(seed=3, namespaces=2, projects=2, components=5, example=True)


@pytest.fixture
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(SPEC) as running:
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
        assert key not in out, f"collection {key} yielded twice"
        out[key] = collection
    return out


def namespaces(mock: MockOpenChoreo) -> list[str]:
    return [
        ns["metadata"]["name"]
        for ns in mock.world.items("namespaces", "")
        if ns["metadata"].get("labels", {}).get("openchoreo.dev/control-plane") == "true"
    ]


def stats(ctx: SyncContext) -> Any:
    assert isinstance(ctx.client, OpenChoreoClient)
    return ctx.client.stats


async def test_full_fetch_joins_namespace_wide(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    collections = await fetch(ctx)
    names = namespaces(mock)
    assert set(collections) == {(c, ns) for ns in names for c in ("projects", "components", "resources")}
    assert all(c.ok for c in collections.values())
    for ns in names:
        components = collections[("components", ns)].resources
        assert len(components) == len(mock.world.items("components", ns))
        workloads = {w["spec"]["owner"]["componentName"]: w for w in mock.world.items("workloads", ns)}
        projects = {p["metadata"]["name"]: p for p in mock.world.items("projects", ns)}
        for resource in components:
            assert resource.kind == "Component" and resource.namespace == ns
            assert resource.context["workload"] == workloads.get(resource.name)
            project = resource.body["spec"]["owner"]["projectName"]
            assert resource.context["project"] == projects.get(project)
        # one shared index per namespace
        assert len({id(r.context["workloads"]) for r in components}) <= 1
        assert len(collections[("resources", ns)].resources) == len(mock.world.items("resources", ns))

    # only namespace-wide walks: one walk per (kind, namespace) plus the namespace list
    by_path = stats(ctx).by_path
    assert set(by_path) == {
        "/api/v1/namespaces",
        "/api/v1/namespaces/{namespace}/projects",
        "/api/v1/namespaces/{namespace}/components",
        "/api/v1/namespaces/{namespace}/workloads",
        "/api/v1/namespaces/{namespace}/resources",
    }
    for kind in ("projects", "components", "workloads", "resources"):
        expected_pages = sum(max(1, -(-len(mock.world.items(kind, ns)) // 100)) for ns in names)
        assert by_path[f"/api/v1/namespaces/{{namespace}}/{kind}"] == expected_pages


async def test_fetched_worked_example_maps(ctx: SyncContext) -> None:
    collections = await fetch(ctx)
    entities = [
        entity
        for resource in collections[("components", "default")].resources
        for entity in plugin.map_resource(resource=resource, ctx=ctx) or []
    ]
    by_ref = {f"{e['kind']}:{e['metadata']['name']}": e for e in entities}
    component = by_ref["Component:api-service"]
    assert component["spec"]["system"] == "url-shortener"
    assert "url-shortener-api-service-rest-api" in component["spec"]["providesApis"]
    assert by_ref["API:url-shortener-api-service-rest-api"]["spec"]["type"] == "openapi"


async def test_failing_workloads_walk_fails_only_that_components_collection(
    mock: MockOpenChoreo, ctx: SyncContext
) -> None:
    mock.faults.fail(r"/namespaces/default/workloads$", status=500)
    collections = await fetch(ctx)
    failed = collections[("components", "default")]
    assert failed.error is not None and failed.resources == []
    assert collections[("projects", "default")].ok
    assert collections[("resources", "default")].ok
    assert all(c.ok for (name, ns), c in collections.items() if ns != "default")


async def test_failing_projects_walk_fails_every_collection_that_needs_projects(
    mock: MockOpenChoreo, ctx: SyncContext
) -> None:
    mock.faults.fail(r"/namespaces/default/projects$", status=500)
    collections = await fetch(ctx)
    for name in ("projects", "components", "resources"):
        assert collections[(name, "default")].error is not None


async def test_failing_namespace_list_fails_the_family(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.faults.fail(r"^/api/v1/namespaces$", status=500)
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises must propagate
        await fetch(ctx)


# --- events ---------------------------------------------------------------------------------------------


async def test_component_event_refetches_with_the_same_joins(ctx: SyncContext) -> None:
    full = await fetch(ctx)
    (expected,) = [r for r in full[("components", "default")].resources if r.name == "api-service"]
    before = stats(ctx).requests
    answer = await plugin.refetch(event=ResourceEvent("Component", "api-service", "default", "updated"), ctx=ctx)
    assert answer is not None and not answer.gone
    assert (answer.collection.name, answer.collection.namespace) == ("components", "default")
    (resource,) = answer.collection.resources
    assert resource.body == expected.body
    assert resource.context["workload"] == expected.context["workload"]
    assert plugin.map_resource(resource=resource, ctx=ctx) == plugin.map_resource(resource=expected, ctx=ctx)
    assert stats(ctx).requests - before <= 3 + len(
        (expected.context["workload"] or {}).get("spec", {}).get("dependencies", {}).get("endpoints", [])
    )


async def test_workload_event_refreshes_its_component(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    workload = next(
        w for w in mock.world.items("workloads", "default") if w["spec"]["owner"]["componentName"] == "api-service"
    )
    answer = await plugin.refetch(
        event=ResourceEvent("workload", workload["metadata"]["name"], "default", "updated"), ctx=ctx
    )
    assert answer is not None
    assert [r.name for r in answer.collection.resources] == ["api-service"]
    assert answer.collection.name == "components"


async def test_gone_and_foreign_events(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    mock.world.put(
        "workloads",
        "default",
        {
            "apiVersion": "openchoreo.dev/v1alpha1",
            "kind": "Workload",
            "metadata": {"name": "orphan-workload", "namespace": "default", "uid": "w0"},
            "spec": {"owner": {"projectName": "url-shortener", "componentName": "no-such-component"}},
        },
    )
    for kind, collection in (("component", "components"), ("project", "projects"), ("resource", "resources")):
        answer = await plugin.refetch(event=ResourceEvent(kind, "no-such-thing", "default", "deleted"), ctx=ctx)
        assert answer is not None and answer.gone
        assert (answer.collection.name, answer.collection.namespace, answer.collection.resources) == (
            collection,
            "default",
            [],
        )
    assert (
        await plugin.refetch(event=ResourceEvent("environment", "development", "default", "updated"), ctx=ctx) is None
    )
    # a workload whose component is gone: the gone source is the component, not the workload
    answer = await plugin.refetch(event=ResourceEvent("workload", "orphan-workload", "default", "updated"), ctx=ctx)
    assert answer is not None and answer.gone and answer.source == "component:default/no-such-component"
    with pytest.raises(LookupError, match="is gone and no synced component names it"):
        await plugin.refetch(event=ResourceEvent("workload", "no-such-workload", "default", "deleted"), ctx=ctx)


async def test_project_and_resource_events(mock: MockOpenChoreo, ctx: SyncContext) -> None:
    answer = await plugin.refetch(event=ResourceEvent("Project", "url-shortener", "default", "updated"), ctx=ctx)
    assert answer is not None and [r.kind for r in answer.collection.resources] == ["Project"]
    resources = mock.world.items("resources", "default")
    if resources:
        name = resources[0]["metadata"]["name"]
        answer = await plugin.refetch(event=ResourceEvent("resource", name, "default", "updated"), ctx=ctx)
        assert answer is not None and answer.collection.name == "resources"
        assert plugin.map_resource(resource=answer.collection.resources[0], ctx=ctx)
