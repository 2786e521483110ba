"""Event deltas: the forwarder's POST reaches the catalog within a second, with no full sync."""

from __future__ import annotations

import asyncio
import copy
import time

import httpx
import pytest

from openchoreo_sync.events import EVENTS_PATH
from openchoreo_sync.testing.polling import apoll


@pytest.fixture
async def live(mock_openchoreo_factory, sync_harness_factory):
    """A mock whose world changes are posted to a daemon that has done one full sync."""
    mock = mock_openchoreo_factory(namespaces=1, projects=1, components=2)
    # api-service is its namespace's only component: deleting it empties a collection, which by
    # default (like a full sync) waits for emptyCollectionRuns full syncs; these tests want it now.
    harness = sync_harness_factory(mock.url, {"openchoreo": {"safety": {"emptyCollectionRuns": 1}}})
    await harness.run()
    url = await harness.serve()
    mock.add_webhook(url + EVENTS_PATH)
    runs_before = len(harness.store.recent_runs(100))
    yield mock, harness, url
    full_runs = [r for r in harness.store.recent_runs(100) if r.trigger != "event"]
    assert len(full_runs) == runs_before, "events must not need a full sync"


def stored(harness, ref):
    return harness.store.load_bodies([ref]).get(ref)


def component(namespace: str, name: str, project: str = "url-shortener") -> dict:
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {"openchoreo.dev/display-name": name.title()},
        },
        "spec": {
            "owner": {"projectName": project},
            "componentType": {"kind": "ComponentType", "name": "deployment/service"},
        },
    }


async def test_component_create_update_delete(live):
    mock, harness, _ = live
    ref = "component:default/fresh-svc"
    started = time.monotonic()
    mock.world.put("components", "default", component("default", "fresh-svc"))
    entity = await apoll(lambda: stored(harness, ref), timeout=1.0, what="the new component")
    latency = time.monotonic() - started
    assert entity["metadata"]["title"] == "Fresh-Svc"
    system = stored(harness, "system:default/url-shortener")
    assert {"type": "hasPart", "targetRef": ref} in system["relations"]

    changed = component("default", "fresh-svc")
    changed["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Renamed"
    mock.world.put("components", "default", changed)
    await apoll(
        lambda: (stored(harness, ref) or {}).get("metadata", {}).get("title") == "Renamed", timeout=1.0, what="update"
    )

    mock.world.delete("components", "default", "fresh-svc")
    await apoll(lambda: stored(harness, ref) is None, timeout=1.0, what="deletion")
    system = stored(harness, "system:default/url-shortener")
    assert {"type": "hasPart", "targetRef": ref} not in system["relations"]
    print(f"event-to-catalog latency (create): {latency * 1000:.0f} ms")


async def test_component_delete_removes_its_apis(live):
    mock, harness, _ = live
    apis = [r for r, e in harness.entities().items() if e["kind"] == "API" and "api-service" in r]
    assert apis
    mock.world.delete("components", "default", "api-service")
    await apoll(lambda: stored(harness, "component:default/api-service") is None, timeout=1.0, what="component gone")
    assert all(stored(harness, ref) is None for ref in apis)


def titled(title: str):
    """A predicate factory: the stored entity's title equals ``title``."""

    def check(harness, ref):
        return (stored(harness, ref) or {}).get("metadata", {}).get("title") == title

    return check


def retitled(body: dict, title: str) -> dict:
    body = copy.deepcopy(body)
    body["metadata"].setdefault("annotations", {})["openchoreo.dev/display-name"] = title
    return body


@pytest.mark.parametrize(
    ("collection", "namespace", "template", "ref"),
    [
        ("projects", "default", ("projects", "default", "url-shortener"), "system:default/evented"),
        ("environments", "default", ("environments", "default", "development"), "environment:default/evented"),
        ("clustertraits", "", None, "clustertraittype:openchoreo-cluster/evented"),
    ],
)
async def test_project_environment_and_cluster_kind(live, collection, namespace, template, ref):
    """Create, update and delete each reach the catalog through events alone."""
    mock, harness, _ = live
    source = mock.world.get(*template) if template else mock.world.items(collection)[0]
    body = copy.deepcopy(source)
    body["metadata"]["name"] = "evented"
    mock.world.put(collection, namespace, retitled(body, "Evented One"))
    await apoll(lambda: titled("Evented One")(harness, ref), timeout=1.0, what=f"create of {ref}")
    mock.world.put(collection, namespace, retitled(body, "Evented Two"))
    await apoll(lambda: titled("Evented Two")(harness, ref), timeout=1.0, what=f"update of {ref}")
    mock.world.delete(collection, namespace, "evented")
    await apoll(lambda: stored(harness, ref) is None, timeout=1.0, what=f"delete of {ref}")


async def test_refetch_failure_deletes_nothing_and_deleted_action_is_only_a_hint(live):
    mock, harness, url = live
    ref = "component:default/api-service"
    async with httpx.AsyncClient() as http:
        # The resource still exists: an event claiming it was deleted must not delete it.
        response = await http.post(
            url + EVENTS_PATH,
            json={"kind": "Component", "name": "api-service", "namespace": "default", "action": "deleted"},
        )
        assert response.status_code == 202
        events = harness.daemon.events
        await apoll(lambda: events.stats["refetched"] >= 1 and events.idle.is_set(), timeout=2, what="refetch")
        assert stored(harness, ref) is not None
        # The re-fetch fails with 500: nothing changes.
        mock.faults.fail(r"/components/api-service$", status=500)
        before = harness.entities()
        await http.post(
            url + EVENTS_PATH,
            json={"kind": "component", "name": "api-service", "namespace": "default", "action": "deleted"},
        )
        await apoll(lambda: events.stats["failed"] >= 1 and events.idle.is_set(), timeout=5, what="failed refetch")
        assert harness.entities() == before


async def test_burst_is_coalesced(live):
    mock, harness, url = live
    # Debounce wide enough that the burst's own delivery time (slow on a loaded CI machine: 3-4 s
    # at load 12-16 on 2 cores, with gaps between one resource's events beyond 0.5 s) never splits
    # a resource's events; the defaults (200 ms quiet, 2 s max) fit bursts under 2 s.
    harness.daemon.events.settings = harness.daemon.events.settings.model_copy(
        update={"coalesce_ms": 2_000, "max_delay_ms": 30_000}
    )
    names = [e["metadata"]["name"] for e in mock.world.items("components", "default")]
    targets = [(n, "default") for n in names]
    targets += [(f"missing-{i}", "default") for i in range(100 - len(targets))]
    assert len(targets) == 100
    base = mock.stats.count()
    async with httpx.AsyncClient() as http:

        async def sender(worker: int) -> None:
            # A few senders posting back to back: httpx's pool slows down with hundreds queued.
            for i in range(worker, 1000, 8):
                name, ns = targets[i % 100]
                event = {"kind": "component", "name": name, "namespace": ns, "action": "updated"}
                assert (await http.post(url + EVENTS_PATH, json=event)).status_code == 202

        started = time.monotonic()
        await asyncio.gather(*(sender(w) for w in range(8)))
        print(f"burst of 1000 events delivered in {time.monotonic() - started:.2f}s")
    events = harness.daemon.events
    await apoll(lambda: events.idle.is_set() and not events.pending, timeout=30, what="burst applied")
    single_gets = [r for r in mock.stats.records[base:] if "/components/" in r.path and r.path.count("/") == 6]
    assert len(single_gets) <= 110, len(single_gets)
    assert events.stats["received"] == 1000


async def test_payload_validation_and_unknown_kinds(live):
    _, harness, url = live
    async with httpx.AsyncClient() as http:
        bad = await http.post(url + EVENTS_PATH, json={"kind": "component"})
        assert bad.status_code == 400
        assert bad.json()["error"]["name"] == "InputError"
        assert "name" in bad.json()["error"]["message"]
        huge = await http.post(url + EVENTS_PATH, content=b"x" * 70_000)
        assert huge.status_code == 413
        ok = await http.post(url + EVENTS_PATH, json={"kind": "Gizmo", "name": "x", "action": "created"})
        assert ok.status_code == 202
    events = harness.daemon.events
    await apoll(lambda: events.stats["ignored"] >= 1, timeout=2, what="ignored unknown kind")


async def test_overflow_schedules_a_full_sync(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(
        mock_openchoreo.url, {"openchoreo": {"events": {"queueSize": 2, "coalesceMs": 2000}}}
    )
    await harness.serve()
    events = harness.daemon.events
    for i in range(3):
        events.submit(__import__("openchoreo_sync").ResourceEvent("component", f"c{i}", "default", "updated"))
    assert events.stats["overflows"] == 1
    assert harness.daemon.wake_event.is_set()
    assert not events.pending


async def test_token_required_when_configured(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"events": {"token": "ev3nt-canary-token"}}})
    url = await harness.serve()
    async with httpx.AsyncClient() as http:
        denied = await http.post(url + EVENTS_PATH, json={"kind": "component", "name": "x", "action": "created"})
        assert denied.status_code == 401
        allowed = await http.post(
            url + EVENTS_PATH,
            json={"kind": "component", "name": "x", "action": "created"},
            headers={"Authorization": "Bearer ev3nt-canary-token"},
        )
        assert allowed.status_code == 202


async def test_events_disabled_turns_the_endpoint_off(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"events": {"enabled": False}}})
    url = await harness.serve()
    async with httpx.AsyncClient() as http:
        response = await http.post(url + EVENTS_PATH, json={"kind": "component", "name": "x", "action": "created"})
    assert response.status_code == 404


async def test_deleted_workload_refreshes_its_component_and_removes_its_apis(live):
    mock, harness, _ = live
    apis = [r for r, e in harness.entities().items() if e["kind"] == "API" and "api-service" in r]
    assert apis
    workload = next(
        w for w in mock.world.items("workloads", "default") if w["spec"]["owner"]["componentName"] == "api-service"
    )
    mock.world.delete("workloads", "default", workload["metadata"]["name"])
    await apoll(lambda: all(stored(harness, ref) is None for ref in apis), timeout=2.0, what="the APIs to go")
    component = stored(harness, "component:default/api-service")
    assert component is not None, "the component itself stays"
    assert "providesApis" not in component["spec"]
