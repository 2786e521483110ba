"""Snapshot consistency under concurrent runs, serving after a restart, and bounded body loading."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from test_embedded_catalog_helpers import CATALOG, add_components, refs_of, serve

from openchoreo_sync.model import entity_ref
from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
from openchoreo_sync.store.sql import utcnow

READS_PER_RUN_BOUND = 2000


async def test_readers_only_ever_see_whole_snapshots(mock_openchoreo_factory: Any, sync_harness_factory: Any) -> None:
    mock = mock_openchoreo_factory(namespaces=2, projects=2, components=4)
    churn_ok = {"openchoreo": {"safety": {"allowMassDeletion": True}}}
    harness, url = await serve(mock, sync_harness_factory, churn_ok)
    sizes = {harness.store.count()}
    observed: list[int] = []
    stop = asyncio.Event()

    async def reader(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            resp = await client.get(f"{CATALOG}/entities", params={"fields": "kind"})
            assert resp.status_code == 200, resp.text
            observed.append(len(resp.json()))
            query = await client.get(f"{CATALOG}/entities/by-query", params={"fields": "kind", "limit": 5000})
            assert query.status_code == 200, query.text
            assert len(query.json()["items"]) == query.json()["totalItems"]
            observed.append(query.json()["totalItems"])
            await asyncio.sleep(0)  # let the run's coroutine make progress between reads

    batch = [f"churn-{i:03d}" for i in range(600)]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        readers = [asyncio.create_task(reader(client)) for _ in range(3)]
        try:
            for round_no in range(4):
                if round_no % 2 == 0:
                    add_components(mock, batch)
                else:
                    for name in batch:
                        mock.world.delete("components", "default", name)
                result = await harness.run()
                assert result.status == "ok", result.summary
                sizes.add(harness.store.count())
                assert len(observed) < READS_PER_RUN_BOUND * (round_no + 1)
        finally:
            stop.set()
            await asyncio.gather(*readers)
    assert len(sizes) >= 2 and max(sizes) > 500, sizes  # several chunks per read: a mix would show
    assert observed and set(observed) <= sizes, (sorted(set(observed) - sizes), sizes)


async def test_restart_serves_the_stored_snapshot_while_upstream_is_down(
    mock_openchoreo_factory: Any, sync_harness_factory: Any, tmp_path: Path
) -> None:
    mock = mock_openchoreo_factory()
    first, url = await serve(mock, sync_harness_factory, state_dir=tmp_path / "state")
    async with httpx.AsyncClient(base_url=url) as client:
        before = (await client.get(f"{CATALOG}/entities")).json()
    await first.close()
    mock.stop()

    second = sync_harness_factory(mock.url, state_dir=tmp_path / "state")
    async with httpx.AsyncClient(base_url=await second.serve()) as client:
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get(f"{CATALOG}/entities")).json() == before
        one = await client.get(f"{CATALOG}/entities", params={"filter": "kind=component,spec.system=url-shortener"})
        assert refs_of(one.json()) == ["component:default/api-service"]
        failed = await second.run()
        assert failed.status != "ok"
        assert (await client.get(f"{CATALOG}/entities")).json() == before


def synthetic(count: int) -> list[EntityWrite]:
    """``count`` small entities, a quarter of them Components, written straight to the store."""
    writes = []
    for i in range(count):
        kind = "Component" if i % 4 == 0 else "Resource"
        entity = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": f"e-{i:06d}", "namespace": "bulk", "tags": ["bulk", f"t{i % 7}"]},
            "spec": {
                "type": "service" if i % 8 == 0 else "library",
                "owner": "group:default/team",
                "lifecycle": "x",
            },
            "relations": [{"type": "ownedBy", "targetRef": "group:default/team"}],
        }
        body = json.dumps(entity, sort_keys=True)
        digest = hashlib.sha1(body.encode()).hexdigest()
        writes.append(EntityWrite(entity_ref(entity), entity, body, digest, "bulk", "bulk", False))
    return writes


async def test_large_snapshot_queries_load_only_what_they_return(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    harness = sync_harness_factory(mock_openchoreo.url)
    count = 20_000
    harness.store.commit(Commit(RunRecord("bulk-load", utcnow(), utcnow(), "ok"), writes=synthetic(count)))
    loaded: list[int] = []
    store = harness.store

    def counting(real_load: Any) -> Any:
        def counting_load(refs: Any) -> Any:
            refs = list(refs)
            loaded.append(len(refs))
            return real_load(refs)

        return counting_load

    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError("the read API must not load every body")

    store.load_bodies = counting(store.load_bodies)
    store.load_served = counting(store.load_served)  # the stored JSON text, served undecoded
    store.all_bodies = forbidden
    store.load_collection_bodies = forbidden
    async with httpx.AsyncClient(base_url=await harness.serve(), timeout=60) as client:

        async def get(path: str, params: Any) -> Any:
            loaded.clear()
            resp = await client.get(f"{CATALOG}{path}", params=params)
            assert resp.status_code == 200, resp.text
            return resp.json()

        page = await get("/entities", {"filter": "kind=component", "limit": 50, "offset": 100})
        assert len(page) == 50 and sum(loaded) == 50
        assert {e["kind"] for e in page} == {"Component"}
        ordered = await get(
            "/entities",
            {"filter": "kind=component,spec.type=service", "order": "desc:metadata.name", "limit": 10},
        )
        assert [e["metadata"]["name"] for e in ordered] == [f"e-{i:06d}" for i in range(count - 8, count - 88, -8)]
        assert sum(loaded) == 10
        query = await get(
            "/entities/by-query", {"filter": "kind=component", "orderField": "metadata.name", "limit": 25}
        )
        assert query["totalItems"] == count // 4 and len(query["items"]) == 25 and sum(loaded) == 25
        facets = await get("/entity-facets", {"facet": "kind"})
        assert sorted((f["value"], f["count"]) for f in facets["facets"]["kind"]) == [
            ("Component", count // 4),
            ("Resource", count - count // 4),
        ]
        assert sum(loaded) <= 2
        everything = await get("/entities", {"filter": "kind=component", "fields": "metadata.name"})
        assert len(everything) == count // 4 and sum(loaded) == count // 4 and max(loaded) <= 500
