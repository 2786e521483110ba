"""The ``backstage`` output converges on what Backstage holds, and sees what Backstage refused.

Against the fake catalog (which ingests what it reads, refuses a file with a kind its rules do
not allow and an entity no processor recognizes, like Backstage): a Backstage that lost its
catalog or its location gets everything back on the next run without any change in OpenChoreo;
a refusal is named in the run record with Backstage's reason and the run is ``partial``; a
vanilla Backstage gets every entity (custom kinds as Resource) with no dangling owner.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_backstage_sink import STANDARD, overrides, publication, started
from test_backstage_sink_fake_catalog import FakeBackstage

from openchoreo_sync.plugins.backstage.graph import RELATIONS_ANNOTATION


@pytest.fixture
def fake() -> Iterator[FakeBackstage]:
    with FakeBackstage() as backstage:
        yield backstage


def published_refs(harness: Any) -> set[str]:
    pub = publication(harness)
    refs = {ref.lower() for refs in pub.members.values() for ref in refs}
    return refs | {pub.location_entity_ref(p).lower() for p in pub.entity_files()}


async def test_a_backstage_that_lost_its_catalog_gets_everything_back_without_a_change(
    mock_openchoreo, sync_harness_factory, fake
):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, STANDARD))
    first = await harness.run()
    assert first.status == "ok", first.summary.get("output_problems")
    assert published_refs(harness) <= set(fake.entities)

    fake.restart_empty()
    again = await harness.run()
    assert again.changes.empty
    assert again.status == "ok" and again.summary["outputs"] == {"backstage": "ok"}
    assert len(fake.registrations()) == 2
    assert published_refs(harness) <= set(fake.entities)

    (location_id,) = fake.locations
    fake.locations.pop(location_id)  # someone unregistered it: Backstage deletes its entities
    fake.entities.clear()
    third = await harness.run()
    assert third.changes.empty and len(fake.registrations()) == 3
    assert published_refs(harness) <= set(fake.entities)


async def test_entities_lost_behind_a_kept_location_are_refreshed_back(mock_openchoreo, sync_harness_factory, fake):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, STANDARD))
    await harness.run()
    component = next(ref for ref in fake.entities if ref.startswith("component:"))
    del fake.entities[component]
    fake.clear_calls()
    result = await harness.run()
    assert result.changes.empty and len(fake.registrations()) == 0
    pub = publication(harness)
    assert set(fake.refreshed()) >= {pub.location_entity_ref(p) for p in pub.entity_files()}
    assert component in fake.entities


async def test_a_kind_backstage_refuses_is_named_with_its_reason_and_the_run_is_partial(
    mock_openchoreo, sync_harness_factory, fake
):
    """Rules only in Backstage (none in our config), and they leave out Resource."""
    fake.allow_kinds = {k.lower() for k in STANDARD if k != "Resource"}
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, None))
    result = await harness.run()
    assert result.status == "partial"
    assert harness.store.get_run(result.run_id).status == "partial"
    problems = result.summary["output_problems"]["backstage"]
    line = next(p for p in problems if p.startswith("Backstage rejected") and " Resource entit" in p)
    assert "is not of an allowed kind" in line and "catalog.rules" in line
    assert result.summary["output_details"]["backstage"]["rejected"]["Resource"] > 0

    unchanged = await harness.run()  # still refused: still partial, still named, no re-send storm
    assert unchanged.changes.empty and unchanged.status == "partial"
    assert line in unchanged.summary["output_problems"]["backstage"]


async def test_auto_publishes_kinds_backstage_accepts_as_is_and_the_others_as_resource(
    mock_openchoreo, sync_harness_factory, fake, capsys
):
    fake.processor_kinds = {"environment"}
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, None))
    result = await harness.run()
    assert result.status == "ok", result.summary.get("output_problems")
    kinds = {ref.split(":", 1)[0] for ref in fake.entities}
    assert "environment" in kinds and "dataplane" not in kinds and "resource" in kinds
    asked = [c.body["entity"]["kind"] for c in fake.calls_to("POST", "/api/catalog/validate-entity")]
    assert len(asked) == len(set(asked)), "one sample per kind"
    out = capsys.readouterr().out
    assert "as_resource" in out and "Dataplane" in out and "catalog.rules" in out
    assert result.summary["output_details"]["backstage"]["kinds_accepted_as_is"] == ["Environment"]


async def test_a_vanilla_backstage_gets_every_entity_its_relations_and_real_owners(
    mock_openchoreo, sync_harness_factory, fake
):
    harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, None))
    result = await harness.run()
    assert result.status == "ok", result.summary.get("output_problems")
    assert published_refs(harness) <= set(fake.entities)
    converted = {r for r in fake.entities if r.startswith("resource:")}
    assert len(converted) >= sum(1 for e in result.entities.values() if e["kind"] == "Environment")

    # Every owner exists: the default one and the groups annotations name.
    specs = [e["spec"] for e in fake.entities.values() if isinstance(e.get("spec"), dict)]
    owners = {spec["owner"].lower() for spec in specs if "owner" in spec}
    assert "group:default/openchoreo-users" in owners and len(owners) > 1
    assert owners <= set(fake.entities), owners - set(fake.entities)

    # An OpenChoreo relation between two synced entities, in built-in form with its precise type kept.
    with_notes = [e for e in fake.entities.values() if RELATIONS_ANNOTATION in e["metadata"].get("annotations", {})]
    assert with_notes
    notes = [n for e in with_notes for n in json.loads(e["metadata"]["annotations"][RELATIONS_ANNOTATION])]
    types = {n["type"] for n in notes}
    assert {"deploysTo", "instanceOf"} & types, types
    for note in notes:
        source, target = fake.entities[note["source"].lower()], fake.entities[note["target"].lower()]
        on_source = note["target"] in source["spec"].get("dependsOn", [])
        on_target = note["source"] in target["spec"].get("dependencyOf", [])
        assert on_source or on_target, note
    assert result.summary["output_details"]["backstage"]["dangling"] == {}


async def test_probe_names_token_reachability_and_processor_problems(fake, unused_tcp_port):
    from openchoreo_sync.plugins.backstage.api import CatalogApi
    from openchoreo_sync.plugins.backstage.probe import probe_backstage

    kinds = ["Component", "Environment", "Dataplane"]

    async def probe(base: str, token: str, mode: Any) -> dict[str, Any]:
        api = CatalogApi(base, token, timeout=5)
        try:
            return {r.name: r for r in await probe_backstage(api, base, None, kinds, mode)}
        finally:
            await api.close()

    wrong = await probe(fake.url, "not-the-token-123", "auto")
    assert not wrong["backstage token"].ok and "backend.auth.externalAccess" in wrong["backstage token"].detail
    gone = await probe(f"http://127.0.0.1:{unused_tcp_port}", fake.token, "auto")
    assert not gone["backstage reachable"].ok and "baseUrl" in gone["backstage reachable"].detail

    native = await probe(fake.url, fake.token, "native")
    assert not native["backstage processors"].ok and "Dataplane, Environment" in native["backstage processors"].detail
    assert not native["backstage reads us"].ok and "publishUrl" in native["backstage reads us"].detail
    auto = await probe(fake.url, fake.token, "auto")
    assert auto["backstage processors"].ok and "published as Resource" in auto["backstage processors"].detail
