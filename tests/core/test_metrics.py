"""``/metrics`` on the daemon's server (issue 18): runs, entities by kind, failures, tokens, events."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from openchoreo_sync.errors import StoreError
from openchoreo_sync.metrics import SyncMetrics
from openchoreo_sync.testing.polling import apoll


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as (name, sorted labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def runs(samples, status: str) -> float:
    return samples[("openchoreo_sync_runs_total", (("status", status),))]


async def test_metrics_follow_runs_entities_and_failures(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"server": {"token": "server-token-123"}}})
    url = await harness.serve()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        assert (await harness.run()).status == "ok"
        assert (await harness.run()).status in ("ok", "unchanged")
        # Prometheus' convention: /metrics needs no token by default, though the catalog does
        response = await client.get("/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        samples = scrape(response.text)
        assert sum(runs(samples, s) for s in ("ok", "unchanged", "partial", "failed", "guarded")) == 2
        assert runs(samples, "failed") == 0
        assert samples[("openchoreo_sync_run_duration_seconds_count", ())] == 2
        assert samples[("openchoreo_sync_phase_duration_seconds_count", (("phase", "fetch"),))] >= 1
        assert samples[("openchoreo_sync_last_success_timestamp_seconds", ())] > 0
        assert samples[("openchoreo_sync_api_requests_total", (("code", "200"),))] > 0
        assert samples[("openchoreo_sync_ready", ())] == 1

        facets = await client.get(
            "/api/catalog/entity-facets",
            params={"facet": "kind"},
            headers={"Authorization": "Bearer server-token-123"},
        )
        assert facets.status_code == 200, facets.text
        expected = {f["value"].lower(): f["count"] for f in facets.json()["facets"]["kind"]}
        by_kind = {
            dict(labels)["kind"].lower(): value
            for (name, labels), value in samples.items()
            if name == "openchoreo_sync_entities"
        }
        assert by_kind == expected and len(expected) > 3

        mock_openchoreo.faults.configure({"rules": [{"path": "/api/", "status": 503}]})
        assert (await harness.run()).status == "failed"
        samples = scrape((await client.get("/metrics")).text)
        assert runs(samples, "failed") == 1
        assert samples[("openchoreo_sync_api_requests_total", (("code", "503"),))] >= 1
        assert samples[("openchoreo_sync_api_retries_total", (("outcome", "503"),))] >= 1


async def test_metrics_token_is_configurable(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(
        mock_openchoreo.url, {"openchoreo": {"server": {"token": "server-token-123", "metricsToken": True}}}
    )
    url = await harness.serve()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        assert (await client.get("/metrics")).status_code == 401
        response = await client.get("/metrics", headers={"Authorization": "Bearer server-token-123"})
        assert response.status_code == 200
        assert "openchoreo_sync_runs_total" in response.text


async def test_event_metrics_show_queue_and_applied_events(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"events": {"coalesceMs": 0}}})
    url = await harness.serve()
    await harness.run()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        name = mock_openchoreo.world.items("components", "default")[0]["metadata"]["name"]
        event = {"kind": "Component", "name": name, "namespace": "default", "action": "updated"}
        assert (await client.post("/api/events/http/openchoreo", json=event)).status_code == 202

        async def applied() -> bool:
            samples = scrape((await client.get("/metrics")).text)
            return samples.get(("openchoreo_sync_events_total", (("outcome", "refetched"),)), 0) >= 1

        await apoll(applied, timeout=10, what="the event to be re-fetched")
        samples = scrape((await client.get("/metrics")).text)
        assert samples[("openchoreo_sync_events_total", (("outcome", "received"),))] == 1
        assert samples[("openchoreo_sync_event_queue_depth", ())] == 0


class _BrokenStore:
    def facets(self, keys):
        raise StoreError("database is gone")


def test_run_summaries_move_deletion_output_and_store_series():
    metrics = SyncMetrics(_BrokenStore())  # type: ignore[arg-type]
    metrics.observe_run("guarded", {"planned_removals": ["a", "b", "c"], "failed_collections": {}}, 1.0)
    metrics.observe_run(
        "partial",
        {
            "pending_removal": 2,
            "carried": 7,
            "failed_collections": {"x": "boom"},
            "outputs": {"backstage": "failed: 503"},
        },
        2.0,
    )
    samples = scrape(metrics.render().decode())
    assert samples[("openchoreo_sync_guarded_deletions", ())] == 0  # the partial run applied, so none held
    assert samples[("openchoreo_sync_pending_deletions", ())] == 2
    assert samples[("openchoreo_sync_stale_entities", ())] == 7
    assert samples[("openchoreo_sync_stale_collections", ())] == 1
    assert samples[("openchoreo_sync_output_healthy", (("output", "backstage"),))] == 0
    assert samples[("openchoreo_sync_last_success_timestamp_seconds", ())] == 0
    metrics.observe_run("guarded", {"planned_removals": ["a", "b", "c"]}, 1.0)
    metrics.observe_run("ok", {"outputs": {"backstage": "full"}}, 1.0)
    samples = scrape(metrics.render().decode())
    assert samples[("openchoreo_sync_output_healthy", (("output", "backstage"),))] == 1
    assert samples[("openchoreo_sync_last_success_timestamp_seconds", ())] > 0
    assert runs(samples, "guarded") == 2 and runs(samples, "ok") == 1


async def test_a_failing_store_read_counts_a_store_error():
    metrics = SyncMetrics(_BrokenStore())  # type: ignore[arg-type]
    await metrics.refresh_from_store()
    assert scrape(metrics.render().decode())[("openchoreo_sync_store_errors_total", ())] == 1
