"""Event deltas reach the Backstage sink too: published YAML changes and the file is refreshed, in < 1 s."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator

import pytest
import yaml
from test_backstage_sink import STANDARD, overrides, publication
from test_backstage_sink_fake_catalog import FakeBackstage

from openchoreo_sync.events import EVENTS_PATH
from openchoreo_sync.testing.polling import apoll


@pytest.fixture
def fake() -> Iterator[FakeBackstage]:
    with FakeBackstage() as backstage:
        yield backstage


def published_names(harness, path: str) -> set[str]:
    body = publication(harness).files.get(path)
    if body is None:
        return set()
    return {doc["metadata"]["name"] for doc in yaml.safe_load_all(body) if doc}


async def test_component_environment_and_cluster_kind_events_reach_the_sink(
    mock_openchoreo_factory, sync_harness_factory, fake
):
    mock = mock_openchoreo_factory(namespaces=1, projects=1, components=2)
    fake.processor_kinds = {"*"}  # native kinds, each in a file of its own kind
    allow = STANDARD + ["Environment", "ClusterTraitType"]
    harness = sync_harness_factory(mock.url, overrides(fake, allow, customKinds="native"))
    url = await harness.serve()
    await harness.run()
    mock.add_webhook(url + EVENTS_PATH)
    pub = publication(harness)
    full_runs = len(harness.store.recent_runs(100))
    fake.clear_calls()

    component = copy.deepcopy(mock.world.get("components", "default", "api-service"))
    component["metadata"]["name"] = "evented-svc"
    started = time.monotonic()
    mock.world.put("components", "default", component)
    await apoll(
        lambda: "evented-svc" in published_names(harness, "default/component.yaml"), timeout=10.0, what="create"
    )
    latency = time.monotonic() - started
    await apoll(
        lambda: pub.location_entity_ref("default/component.yaml") in fake.refreshed(), timeout=10.0, what="refresh"
    )

    mock.world.delete("components", "default", "evented-svc")
    await apoll(
        lambda: "evented-svc" not in published_names(harness, "default/component.yaml"), timeout=10.0, what="delete"
    )

    env = copy.deepcopy(mock.world.get("environments", "default", "development"))
    env["metadata"]["name"] = "qa"
    mock.world.put("environments", "default", env)
    await apoll(lambda: "qa" in published_names(harness, "default/environment.yaml"), timeout=10.0, what="environment")

    trait = copy.deepcopy(mock.world.items("clustertraits")[0])
    trait["metadata"]["name"] = "evented-trait"
    mock.world.put("clustertraits", "", trait)
    await apoll(
        lambda: "evented-trait" in published_names(harness, "openchoreo-cluster/clustertraittype.yaml"),
        timeout=10.0,
        what="cluster kind",
    )
    assert len(harness.store.recent_runs(100)) > full_runs
    assert all(r.trigger == "event" for r in harness.store.recent_runs(100)[: -full_runs or None])
    print(f"event-to-published-YAML latency: {latency * 1000:.0f} ms")
