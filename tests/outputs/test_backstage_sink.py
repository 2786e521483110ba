"""The ``backstage`` output against a fake Backstage catalog API, all over real HTTP on 127.0.0.1.

The daemon serves its YAML on its own ephemeral port; the fake reads it like a UrlReader would
(without our token) and records every catalog call, so the tests check registration, refreshes,
auth and what Backstage would read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_backstage_sink_fake_catalog import FAKE_TOKEN, FakeBackstage, generated_ref

from openchoreo_sync.plugins.backstage.layout import INDEX_FILE, Publication
from openchoreo_sync.testing.harness import deep_merge

STANDARD = ["Component", "API", "System", "Domain", "Resource", "Group", "User", "Location", "Template"]


@pytest.fixture
def fake() -> Iterator[FakeBackstage]:
    with FakeBackstage() as backstage:
        yield backstage


def overrides(fake: FakeBackstage, allow: list[str] | None = None, **settings: Any) -> dict[str, Any]:
    block = {"enabled": True, "baseUrl": fake.url, "token": FAKE_TOKEN, **settings}
    config: dict[str, Any] = {"openchoreo": {"plugins": {"backstage": block}}}
    if allow is not None:
        config["catalog"] = {"rules": [{"allow": allow}]}
    return config


def publication(harness: Any) -> Publication:
    served = harness.daemon.ctx.services.instances["backstage"].served
    assert served is not None, "nothing published yet"
    return served


async def get(url: str) -> httpx.Response:
    """An async GET: the daemon serves on this test's own event loop, a blocking call would hang it."""
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url)  # no token: exactly what Backstage's UrlReader can do


async def fetch_docs(url: str) -> list[dict[str, Any]]:
    resp = await get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.text[:200])
    return [d for d in yaml.safe_load_all(resp.text) if d is not None]


async def read_all(index_url: str) -> dict[str, list[dict[str, Any]]]:
    """target URL -> its documents, following the index like Backstage does."""
    locations = await fetch_docs(index_url)
    assert locations and {d["kind"] for d in locations} == {"Location"}
    return {loc["spec"]["target"]: await fetch_docs(loc["spec"]["target"]) for loc in locations}


def file_url(pub: Publication, namespace: str, kind: str) -> str:
    return pub.url(f"{namespace}/{kind}.yaml")


async def started(factory: Any, mock: Any, config: dict[str, Any], state_dir: Path | None = None) -> Any:
    harness = factory(mock.url, config, state_dir=state_dir)
    await harness.serve()
    return harness


# --- registration ----------------------------------------------------------------------------------


async def test_first_run_registers_the_index_once_and_backstage_can_read_it(
    mock_openchoreo, sync_harness_factory, fake
):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, [*STANDARD, "Environment"]))
    first = await harness.run()
    assert first.summary["outputs"] == {"backstage": "full"}
    pub = publication(harness)
    assert fake.registrations() == [pub.index_url]
    assert fake.reads[0][:2] == (pub.index_url, 200)
    assert fake.refreshed() == []  # a fresh registration makes Backstage read everything itself

    env = mock_openchoreo.world.items("environments", "delta-1")[0]
    env["metadata"]["annotations"] = {"openchoreo.dev/display-name": "Dev, renamed"}
    mock_openchoreo.world.put("environments", "delta-1", env)
    second = await harness.run()
    assert second.changes.changed and second.summary["outputs"] == {"backstage": "ok"}
    assert len(fake.registrations()) == 1


async def test_registration_after_restart_is_idempotent(mock_openchoreo, sync_harness_factory, fake, tmp_path):
    config = overrides(fake, STANDARD)
    first = await started(sync_harness_factory, mock_openchoreo, config, tmp_path / "state")
    await first.run()
    port = first.daemon.http.port
    await first.close()

    config["openchoreo"]["server"] = {"port": port}  # same URL as before, like a restarted daemon
    again = await started(sync_harness_factory, mock_openchoreo, config, tmp_path / "state")
    again.store.set_output_state("backstage", "test", True)
    result = await again.run()
    assert result.summary["outputs"] == {"backstage": "full"}, result.summary
    target = publication(again).index_url
    # Every run reads Backstage's location list first (converging on what Backstage holds), so the
    # restarted daemon finds its registration there and posts it no second time.
    assert fake.registrations() == [target]
    assert len(fake.locations) == 1
    assert fake.calls_to("GET", "/api/catalog/locations")


# --- refresh -------------------------------------------------------------------------------------


async def test_refreshes_exactly_the_locations_of_changed_files(mock_openchoreo, sync_harness_factory, fake):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, STANDARD))
    await harness.run()
    pub = publication(harness)
    fake.clear_calls()

    component = mock_openchoreo.world.items("components", "delta-1")[0]
    component["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Renamed for refresh"
    mock_openchoreo.world.put("components", "delta-1", component)
    result = await harness.run()
    assert any(ref.startswith("component:delta-1/") for ref in result.changes.changed)
    refreshed = set(fake.refreshed())
    assert pub.location_entity_ref("delta-1/component.yaml") in refreshed
    changed_files = {
        path for path, body in publication(harness).files.items() if pub.files.get(path) != body and path != INDEX_FILE
    }
    assert refreshed == {pub.location_entity_ref(p) for p in changed_files}
    assert generated_ref(pub.index_url) not in refreshed


async def test_a_new_file_refreshes_the_index_and_a_removed_entity_its_file(
    mock_openchoreo, sync_harness_factory, fake
):
    fake.processor_kinds = {"*"}  # a Backstage with OpenChoreo's processors: Environment files as such
    # Emptying a namespace's environments is held by the empty-collection guard (issue 13) for
    # safety.emptyCollectionRuns runs; this test is about the published files, so it is off here.
    config = deep_merge(
        overrides(fake, None, customKinds="native"), {"openchoreo": {"safety": {"emptyCollectionRuns": 1}}}
    )
    harness = await started(sync_harness_factory, mock_openchoreo, config)
    await harness.run()
    pub = publication(harness)
    assert "default/environment.yaml" in pub.files and "delta-1/environment.yaml" in pub.files
    fake.clear_calls()

    mock_openchoreo.world.delete("environments", "delta-1", "development")
    await harness.run()
    assert fake.refreshed() == [pub.location_entity_ref("delta-1/environment.yaml")]
    docs = await fetch_docs(file_url(pub, "delta-1", "environment"))
    assert "development" not in {d["metadata"]["name"] for d in docs}

    fake.clear_calls()
    for env in mock_openchoreo.world.items("environments", "default"):
        mock_openchoreo.world.delete("environments", "default", env["metadata"]["name"])
    await harness.run()
    assert "default/environment.yaml" not in publication(harness).files
    assert fake.refreshed() == [generated_ref(pub.index_url)]
    assert (await get(file_url(pub, "default", "environment"))).status_code == 404


async def test_a_failed_refresh_is_retried_as_a_full_refresh(mock_openchoreo, sync_harness_factory, fake):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, STANDARD))
    await harness.run()
    fake.refresh_status = 500
    component = mock_openchoreo.world.items("components", "delta-1")[0]
    component["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Will fail"
    mock_openchoreo.world.put("components", "delta-1", component)
    failed = await harness.run()
    assert failed.summary["outputs"]["backstage"].startswith("failed:")
    assert "500" in failed.summary["outputs"]["backstage"]

    fake.refresh_status = 200
    fake.clear_calls()
    retried = await harness.run()
    assert retried.changes.empty and retried.summary["outputs"] == {"backstage": "full"}
    pub = publication(harness)
    expected = {pub.location_entity_ref(p) for p in pub.entity_files()} | {generated_ref(pub.index_url)}
    assert set(fake.refreshed()) == expected


# --- auth and serving ----------------------------------------------------------------------------


async def test_every_catalog_call_carries_the_token_and_a_wrong_token_fails_loudly(
    mock_openchoreo, sync_harness_factory, fake
):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, STANDARD))
    await harness.run()
    assert fake.calls and {c.authorization for c in fake.calls} == {f"Bearer {FAKE_TOKEN}"}

    fake.token = "rotated-token-xyz-123"
    harness.store.set_output_state("backstage", "test", True)
    result = await harness.run()
    outcome = result.summary["outputs"]["backstage"]
    assert "401" in outcome and "openchoreo.plugins.backstage.token" in outcome


async def test_published_yaml_is_public_parseable_and_behind_an_unguessable_path(
    mock_openchoreo, sync_harness_factory, fake
):
    config = overrides(fake, STANDARD, customKinds="skip", ownerGroups=False)  # exactly the built-in kinds
    config["openchoreo"]["server"] = {"token": "server-token-for-api-routes"}
    harness = await started(sync_harness_factory, mock_openchoreo, config)
    result = await harness.run()
    pub = publication(harness)
    files = await read_all(pub.index_url)
    published = {
        (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for ds in files.values() for d in ds
    }
    expected = {
        (e["kind"], e["metadata"].get("namespace") or "default", e["metadata"]["name"])
        for e in result.entities.values()
        if e["kind"] in STANDARD
    }
    expected = {(k, ns, n) for k, ns, n in expected}
    assert {(k, ns or "default", n) for k, ns, n in published} == expected
    for docs in files.values():
        for doc in docs:
            assert "relations" not in doc

    key = pub.root_url.rsplit("/", 1)[1]
    assert len(key) == 32 and FAKE_TOKEN not in pub.root_url
    wrong = pub.index_url.replace(key, "0" * 32)
    assert (await get(wrong)).status_code == 404


async def test_every_file_holds_one_namespace_and_one_kind(mock_openchoreo, sync_harness_factory, fake):
    fake.processor_kinds = {"*"}  # native kinds: one file per OpenChoreo kind too
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, None, customKinds="native"))
    await harness.run()
    files = await read_all(publication(harness).index_url)
    assert len(files) > 20
    for target, docs in files.items():
        assert docs, target
        assert len({(d["kind"], d["metadata"].get("namespace") or "default") for d in docs}) == 1, target


async def test_split_by_entity_gives_each_entity_its_own_file(mock_openchoreo, sync_harness_factory, fake):
    settings = {"splitBy": "entity", "customKinds": "skip", "ownerGroups": False}  # exactly the built-in kinds
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, STANDARD, **settings))
    result = await harness.run()
    files = await read_all(publication(harness).index_url)
    assert all(len(docs) == 1 for docs in files.values())
    assert len(files) == sum(1 for e in result.entities.values() if e["kind"] in STANDARD)


# --- preflight and custom kinds ------------------------------------------------------------------


async def test_disallowed_kinds_are_named_with_the_rules_line_and_never_published(
    mock_openchoreo, sync_harness_factory, fake, capsys
):
    allow = [*STANDARD, "DeploymentPipeline"]
    fake.processor_kinds = {"*"}  # native kinds: what our own catalog.rules leave out is never published
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, allow, customKinds="native"))
    startup = capsys.readouterr().out
    assert "Environment" in startup and "catalog.rules: [{allow: [" in startup

    await harness.run()
    out = capsys.readouterr().out
    assert "Environment (8)" in out
    assert f"catalog.rules: [{{allow: [{', '.join(allow)}, " in out and "Environment" in out.split("allow: [")[1]
    kinds = {d["kind"] for docs in (await read_all(publication(harness).index_url)).values() for d in docs}
    assert "Environment" not in kinds and "Dataplane" not in kinds
    assert {"Component", "System", "Domain", "DeploymentPipeline"} <= kinds


async def test_location_not_allowed_is_reported_at_startup(mock_openchoreo, sync_harness_factory, fake, capsys):
    await started(sync_harness_factory, mock_openchoreo, overrides(fake, ["Component", "API", "System"]))
    out = capsys.readouterr().out
    assert "does not allow Location" in out and "catalog.rules: [{allow: [Component, API, System, Location]}]" in out


@pytest.mark.parametrize("mode", ["native", "resource", "skip"])
async def test_custom_kinds_modes(mock_openchoreo, sync_harness_factory, fake, mode):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, None, customKinds=mode))
    result = await harness.run()
    docs = [d for ds in (await read_all(publication(harness).index_url)).values() for d in ds]
    kinds = {d["kind"] for d in docs}
    envs = [e for e in result.entities.values() if e["kind"] == "Environment"]
    if mode == "native":
        assert "Environment" in kinds and "Dataplane" in kinds
        return
    assert kinds <= set(STANDARD), kinds
    disguised = [d for d in docs if d["kind"] == "Resource" and d["spec"]["type"] == "openchoreo-environment"]
    if mode == "skip":
        assert disguised == []
        return
    assert len(disguised) == len(envs)
    one = next(d for d in disguised if d["metadata"]["namespace"] == "delta-1")
    original = next(
        e
        for e in envs
        if e["metadata"]["namespace"] == "delta-1"
        and e["metadata"]["name"] == one["metadata"]["annotations"]["openchoreo.io/original-name"]
    )
    assert one["metadata"]["name"] == "environment-" + original["metadata"]["name"]
    assert one["metadata"]["annotations"]["openchoreo.io/original-kind"] == "Environment"
    assert one["spec"]["owner"] == "group:default/openchoreo-users"
    assert one["spec"]["openchoreo"] == original["spec"]
    assert one["metadata"].get("tags") == original["metadata"].get("tags")
    names = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d["kind"] == "Resource"]
    assert len(names) == len(set(names)), "two kinds collided on one Resource name"
