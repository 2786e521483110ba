"""The ``backstage`` output against a REAL Backstage catalog (see tests/support/backstage_backend.py).

The daemon syncs the mock OpenChoreo world, serves its YAML on an ephemeral port, registers the
index location itself; the test then reads entities back from Backstage's own API, relations
included. Backstage calls are blocking, and the daemon serves on this test's event loop, so every
Backstage call runs in a thread (a blocking call here would starve the daemon Backstage reads
from). Timings are printed (``-s``): run finished -> visible in Backstage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from tests.support.backstage_backend import STANDARD_KINDS, BackstageBackend, relation_targets

pytestmark = pytest.mark.backstage

T = TypeVar("T")
INGEST_TIMEOUT_S = 30.0
CHANGE_TIMEOUT_S = 15.0  # with the refresh it takes ~1-2 s; without, a 5 s processing interval
ORPHAN_TIMEOUT_S = 60.0  # orphan cleanup runs on a fixed 30 s cycle


def sink_config(bs: BackstageBackend, allow: list[str] | None, **settings: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "openchoreo": {"plugins": {"backstage": {"enabled": True, "baseUrl": bs.url, "token": bs.token, **settings}}}
    }
    if allow is not None:
        config["catalog"] = {"rules": [{"allow": allow}]}
    return config


async def wait_for(bs: BackstageBackend, predicate: Callable[[], T], timeout: float, what: str) -> tuple[T, float]:
    """Poll Backstage (bounded) from a thread; return the value and the seconds it took."""
    started = time.monotonic()
    value = await asyncio.to_thread(bs.wait_for, predicate, timeout, what)
    return value, time.monotonic() - started


def timing(label: str, seconds: float) -> None:
    print(f"[backstage sink timing] {label}: {seconds:.2f} s")


async def test_sync_reaches_backstage_with_relations_changes_and_deletions(
    backstage_backend_factory, mock_openchoreo, sync_harness_factory, capsys
):
    bs = await asyncio.to_thread(backstage_backend_factory, allow_kinds=list(STANDARD_KINDS))
    # customKinds native: this test is about our own catalog.rules preflight holding native kinds back.
    config = sink_config(bs, list(STANDARD_KINDS), customKinds="native")
    harness = sync_harness_factory(mock_openchoreo.url, config)
    await harness.serve()
    result = await harness.run()
    assert result.summary["outputs"] == {"backstage": "full"}, result.summary

    def api_component() -> dict[str, Any] | None:
        entity = bs.entity_by_name("component", "delta-1", "atlas-0-api-0")
        return entity if entity and relation_targets(entity, "providesApi") else None

    component, first_seconds = await wait_for(bs, api_component, INGEST_TIMEOUT_S, "component atlas-0-api-0")
    assert relation_targets(component, "partOf") == {"system:delta-1/atlas-0"}
    assert relation_targets(component, "ownedBy") == {"group:default/openchoreo-users"}
    assert relation_targets(component, "providesApi") == {"api:delta-1/atlas-0-atlas-0-api-0-rest-api"}
    system, _ = await wait_for(
        bs, lambda: bs.entity_by_name("system", "delta-1", "atlas-0"), INGEST_TIMEOUT_S, "system atlas-0"
    )
    assert "component:delta-1/atlas-0-api-0" in relation_targets(system, "hasPart")
    await wait_for(bs, lambda: bs.entity_by_name("domain", "default", "delta-1"), INGEST_TIMEOUT_S, "domain")

    # Our preflight named the kinds Backstage does not allow and left them out: nothing is rejected.
    out = capsys.readouterr().out
    timing("first run -> component visible with relations", first_seconds)  # after capsys took its share
    assert "Environment (8)" in out and "catalog.rules: [{allow: [" in out
    assert await asyncio.to_thread(bs.entity_by_name, "environment", "delta-1", "development") is None
    assert "is not of an allowed kind" not in await asyncio.to_thread(bs.log_text)

    # A change: the refresh of exactly that file makes it visible within seconds.
    world = mock_openchoreo.world
    web = world.get("components", "delta-1", "atlas-0-web-1")
    web["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Atlas Web, renamed"
    world.put("components", "delta-1", web)
    changed = await harness.run()
    assert "component:delta-1/atlas-0-web-1" in changed.changes.changed

    def renamed() -> bool:
        entity = bs.entity_by_name("component", "delta-1", "atlas-0-web-1")
        return bool(entity and entity["metadata"].get("title") == "Atlas Web, renamed")

    _, seconds = await wait_for(bs, renamed, CHANGE_TIMEOUT_S, "renamed title")
    timing("change run -> visible (refresh)", seconds)

    # A deletion: the entity leaves its file, Backstage's orphan cleanup deletes it.
    world.delete("components", "delta-1", "beacon-1-worker-2")
    removed = await harness.run()
    assert removed.changes.removed == ["component:delta-1/beacon-1-worker-2"]
    _, seconds = await wait_for(
        bs,
        lambda: bs.entity_by_name("component", "delta-1", "beacon-1-worker-2") is None,
        ORPHAN_TIMEOUT_S,
        "deleted component gone",
    )
    timing("deletion run -> gone (orphan cleanup)", seconds)
    assert await asyncio.to_thread(bs.entity_by_name, "component", "delta-1", "beacon-1-web-1") is not None
    assert len(await asyncio.to_thread(bs.locations)) == 1


async def test_a_kind_backstage_rejects_only_loses_its_own_files(
    backstage_backend_factory, mock_openchoreo, sync_harness_factory
):
    """Our config has no catalog.rules, Backstage's disallow Environment: the split contains the damage."""
    bs = await asyncio.to_thread(backstage_backend_factory, allow_kinds=list(STANDARD_KINDS))
    # customKinds native: auto would publish Environment as Resource, and nothing would be refused.
    harness = sync_harness_factory(mock_openchoreo.url, sink_config(bs, None, customKinds="native"))
    await harness.serve()
    refused = await harness.run()
    assert refused.status == "partial"  # verify-after-write saw the refused files
    await wait_for(
        bs, lambda: bs.entity_by_name("component", "delta-1", "atlas-0-api-0"), INGEST_TIMEOUT_S, "component"
    )
    await wait_for(bs, lambda: bs.entity_by_name("domain", "default", "delta-1"), INGEST_TIMEOUT_S, "domain")
    await wait_for(
        bs,
        lambda: "is not of an allowed kind" in bs.log_text(),
        INGEST_TIMEOUT_S,
        "Backstage rejecting a kind",
    )
    assert await asyncio.to_thread(bs.entity_by_name, "environment", "delta-1", "development") is None
    assert await asyncio.to_thread(bs.entity_by_name, "system", "meadow-0", "alpha-0") is not None


async def test_custom_kinds_as_resources_are_ingested_by_a_stock_backstage(
    backstage_backend_factory, mock_openchoreo, sync_harness_factory
):
    bs = await asyncio.to_thread(backstage_backend_factory, allow_kinds=list(STANDARD_KINDS))
    harness = sync_harness_factory(mock_openchoreo.url, sink_config(bs, list(STANDARD_KINDS), customKinds="resource"))
    await harness.serve()
    await harness.run()
    env, seconds = await wait_for(
        bs,
        lambda: bs.entity_by_name("resource", "delta-1", "environment-development"),
        INGEST_TIMEOUT_S,
        "Environment as Resource",
    )
    timing("first run -> disguised Environment visible", seconds)
    assert env["spec"]["type"] == "openchoreo-environment"
    assert env["metadata"]["annotations"]["openchoreo.io/original-kind"] == "Environment"
    assert relation_targets(env, "ownedBy") == {"group:default/openchoreo-users"}
