"""The pull contract (``/api/sync/v1``): snapshot pages, the change feed as a long poll, status.

Real daemon HTTP server after real runs against the mock OpenChoreo API; the store is the oracle.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from test_embedded_catalog_helpers import TOKEN, add_components, expect_error, serve

from openchoreo_sync.model import entity_ref
from openchoreo_sync.testing.polling import apoll

SYNC = "/api/sync/v1"


async def _all_pages(client: httpx.AsyncClient, limit: int) -> tuple[list[dict[str, Any]], set[str], set[int]]:
    items: list[dict[str, Any]] = []
    ids: set[str] = set()
    sequences: set[int] = set()
    after = ""
    for _ in range(1000):  # bounded walk
        page = (await client.get(f"{SYNC}/snapshot", params={"after": after, "limit": limit})).json()
        items.extend(page["items"])
        ids.add(page["snapshotId"])
        sequences.add(page["sequence"])
        assert page["totalItems"] >= len(items)
        if page["nextAfter"] is None:
            return items, ids, sequences
        after = page["nextAfter"]
    raise AssertionError("snapshot pages did not end")


async def test_snapshot_pages_cover_the_committed_snapshot_once(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    harness, url = await serve(mock_openchoreo, sync_harness_factory)
    stored = harness.entities()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        items, ids, sequences = await _all_pages(client, limit=7)
        assert len(stored) > 14  # several pages
        assert [entity_ref(e) for e in items] == sorted(stored)  # each once, in ref order
        assert items == [stored[ref] for ref in sorted(stored)]
        assert all("uid" not in e["metadata"] for e in items)  # the ingesting catalog assigns its own
        assert ids == {harness.store.snapshot_version()}
        assert sequences == {harness.store.change_position().head}

        first = (await client.get(f"{SYNC}/snapshot", params={"limit": 5})).json()
        add_components(mock_openchoreo, ["brand-new"])
        assert (await harness.run()).status == "ok"
        stale = await client.get(
            f"{SYNC}/snapshot", params={"after": first["nextAfter"], "snapshotId": first["snapshotId"]}
        )
        expect_error(stale, 409, "ConflictError")


async def test_the_feed_long_polls_and_brings_deletes_and_adds(mock_openchoreo: Any, sync_harness_factory: Any) -> None:
    harness, url = await serve(mock_openchoreo, sync_harness_factory)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        status = (await client.get(f"{SYNC}/status")).json()
        since = status["sequence"]
        idle = (await client.get(f"{SYNC}/changes", params={"since": since, "wait": 0})).json()
        assert (idle["sequence"], idle["changes"], idle["resync"]) == (since, [], False)

        waiting = asyncio.create_task(client.get(f"{SYNC}/changes", params={"since": since, "wait": 30}))
        await asyncio.sleep(0)
        add_components(mock_openchoreo, ["fresh-one"])
        mock_openchoreo.world.delete("components", "default", "api-service")
        assert (await harness.run()).status == "ok"
        answer = (await waiting).json()
        assert answer["sequence"] == since + 1 and not answer["resync"]
        ops = {c["entityRef"]: c for c in answer["changes"]}
        assert ops["component:default/api-service"] == {"op": "delete", "entityRef": "component:default/api-service"}
        fresh = ops["component:default/fresh-one"]
        assert fresh["op"] == "upsert" and fresh["entity"]["metadata"]["name"] == "fresh-one"
        assert fresh["entity"]["relations"]  # with the relations the core computed
        assert answer["snapshotId"] == harness.store.snapshot_version()

        ahead = (await client.get(f"{SYNC}/changes", params={"since": since + 50, "wait": 0})).json()
        assert ahead["resync"] is True and ahead["changes"] == []


async def test_status_reports_a_guarded_run_and_keeps_the_snapshot(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    harness, url = await serve(mock_openchoreo, sync_harness_factory)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        good = (await client.get(f"{SYNC}/status")).json()
        assert good["fullSyncSafe"] is True and good["reason"] is None
        assert good["entities"] == harness.store.count() > 0
        assert good["snapshotRun"]["status"] == "ok"
        for name in mock_openchoreo.world.namespaces():
            mock_openchoreo.world.delete("namespaces", "", name)
        assert (await harness.run()).status == "guarded"
        after = (await client.get(f"{SYNC}/status")).json()
        assert after["fullSyncSafe"] is False and "guarded" in after["reason"]
        assert after["lastRun"]["status"] == "guarded"
        assert (after["snapshotId"], after["sequence"], after["entities"]) == (
            good["snapshotId"],
            good["sequence"],
            good["entities"],
        )
        nothing = (await client.get(f"{SYNC}/changes", params={"since": good["sequence"], "wait": 0})).json()
        assert nothing["changes"] == []


async def test_feed_needs_the_server_token_and_names_bad_parameters(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    _, url = await serve(mock_openchoreo, sync_harness_factory, {"openchoreo": {"server": {"token": TOKEN}}})
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for path in ("/status", "/snapshot", "/changes?since=0"):
            expect_error(await client.get(f"{SYNC}{path}"), 401, "AuthenticationError", "Missing credentials")
        client.headers["authorization"] = f"Bearer {TOKEN}"
        assert (await client.get(f"{SYNC}/status")).status_code == 200
        for params, word in (
            ({}, "since"),
            ({"since": "-1"}, "since"),
            ({"since": "x"}, "since"),
            ({"since": "0", "wait": "600"}, "wait"),
            ({"since": "0", "wait": "soon"}, "wait"),
            ({"since": "0", "limit": "0"}, "limit"),
        ):
            body = expect_error(await client.get(f"{SYNC}/changes", params=params), 400, "InputError")
            assert word in body["error"]["message"], (params, body)
        body = expect_error(await client.get(f"{SYNC}/snapshot", params={"limit": "-3"}), 400, "InputError")
        assert "limit" in body["error"]["message"]


async def test_a_waiting_long_poll_is_answered_when_the_daemon_stops(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    harness, url = await serve(mock_openchoreo, sync_harness_factory)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        since = (await client.get(f"{SYNC}/status")).json()["sequence"]
        waiting = asyncio.create_task(client.get(f"{SYNC}/changes", params={"since": since, "wait": 60}))
        server = harness.daemon.http._server  # uvicorn's: it knows the requests being answered
        # a task per request, made once its headers are parsed (an open connection alone may still
        # be closed unanswered by the shutdown: uvicorn closes connections with no request in flight)
        await apoll(lambda: bool(server.server_state.tasks) or None, timeout=10, what="the poll to arrive")
        assert not waiting.done()
        await harness.daemon.stop()
        answer = await waiting
        assert answer.status_code == 200, answer.text
        assert answer.json()["changes"] == [] and answer.json()["sequence"] == since
