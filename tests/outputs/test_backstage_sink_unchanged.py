"""The ``backstage`` output reuses its last build for a snapshot that holds what it was built from.

The store's digest of every (ref, content hash) names a committed snapshot's content without a
body read (``SnapshotView.content_key``); with the output's own state beside it, it is the key of
the last build. An emit of an equal key serves that publication as it is (no read, no
preparation, no rendering); anything else it depends on (a changed entity, what Backstage holds
from elsewhere, a commit between the key and the read) builds again. Real SQLite store, the mock
API over HTTP, the real daemon.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from test_backstage_sink import overrides, publication, started
from test_backstage_sink_fake_catalog import FakeBackstage

from openchoreo_sync.model import Entity, EntityRef
from openchoreo_sync.snapshot import ChangeSet
from openchoreo_sync.store_snapshot import StoreSnapshot

BACKSTAGE = {
    "enabled": True,
    "baseUrl": "http://127.0.0.1:9",
    "token": "test-token-0123",
    "publishUrl": "http://127.0.0.1:9/published",
    "registerLocation": False,
}


class CountingSnapshot(StoreSnapshot):
    """A store snapshot that counts its body reads."""

    def __init__(self, store: Any, run_id: str) -> None:
        super().__init__(store, run_id)
        self.reads = 0

    def entities(self, *, with_relations: bool = True) -> Iterator[tuple[EntityRef, Entity]]:
        self.reads += 1
        return super().entities(with_relations=with_relations)


async def emitted(harness: Any, view: StoreSnapshot) -> Any:
    sink = harness.daemon.ctx.services.instances["backstage"]
    await sink.emit(view, ChangeSet(full=True), harness.daemon.ctx)
    return sink.served


async def test_an_unchanged_snapshot_is_served_from_the_last_build_without_reading_it(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"plugins": {"backstage": BACKSTAGE}}})
    first = await harness.run()
    sink = harness.daemon.ctx.services.instances["backstage"]
    assert sink.last_build is None  # a run that changed things hands its entities, not a key
    view = CountingSnapshot(harness.store, first.run_id)
    built = await emitted(harness, view)
    assert view.reads == 1 and sink.last_build is not None
    again = await emitted(harness, view)
    assert again is built and view.reads == 1  # neither read nor built
    assert sink.last_prepared is sink.last_build.prepared

    unchanged = await harness.run()  # nothing changed: the run hands the store's snapshot
    assert unchanged.changes.empty and sink.served is built

    sink.groups_elsewhere.add("group:default/openchoreo-users")  # what a build depends on besides entities
    without_group = await emitted(harness, view)
    assert without_group is not built and view.reads == 2
    assert b"name: openchoreo-users" in built.files["default/group.yaml"]
    assert b"name: openchoreo-users" not in without_group.files["default/group.yaml"]
    sink.groups_elsewhere.clear()
    assert (await emitted(harness, view)).files == built.files and view.reads == 3

    component = mock_openchoreo.world.items("components", "delta-1")[0]
    component["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Renamed while reused"
    mock_openchoreo.world.put("components", "delta-1", component)
    changed = await harness.run()
    assert changed.changes.changed
    later = CountingSnapshot(harness.store, changed.run_id)
    rebuilt = await emitted(harness, later)
    assert later.reads == 1 and b"Renamed while reused" in rebuilt.files["delta-1/component.yaml"]


async def test_a_store_snapshot_keys_what_it_read_though_a_commit_came_since(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    """The key kept with a build is the key of the bodies it was built from (read with them)."""
    harness = sync_harness_factory(mock_openchoreo.url, {"openchoreo": {"plugins": {"backstage": BACKSTAGE}}})
    first = await harness.run()
    view = StoreSnapshot(harness.store, first.run_id)
    before = harness.store.content_digest()
    assert view.content_key() == before  # before a read: the store's
    assert len(dict(view.entities())) > 100
    component = mock_openchoreo.world.items("components", "delta-1")[0]
    component["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Committed after the read"
    mock_openchoreo.world.put("components", "delta-1", component)
    assert (await harness.run()).changes.changed
    assert harness.store.content_digest() != before and view.content_key() == before  # what it read
    sink = harness.daemon.ctx.services.instances["backstage"]
    racing = CountingSnapshot(harness.store, first.run_id)
    await emitted(harness, racing)
    assert sink.last_build is not None and sink.last_build.key[0] == harness.store.content_digest()
    again = CountingSnapshot(harness.store, first.run_id)
    await emitted(harness, again)
    assert again.reads == 0


async def test_the_store_digest_follows_every_ref_and_content(mock_openchoreo: Any, sync_harness_factory: Any) -> None:
    harness = sync_harness_factory(mock_openchoreo.url, {})
    await harness.run()
    before = harness.store.content_digest()
    assert (await harness.run()).changes.empty and harness.store.content_digest() == before
    component = mock_openchoreo.world.items("components", "delta-1")[0]
    component["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Changed"
    mock_openchoreo.world.put("components", "delta-1", component)
    assert (await harness.run()).changes.changed
    changed = harness.store.content_digest()
    assert changed != before
    mock_openchoreo.world.delete("environments", "delta-1", "development")
    removed = await harness.run()
    assert removed.changes.removed and harness.store.content_digest() not in (before, changed)


async def test_a_restarted_backstage_is_asked_about_the_kinds_of_a_reused_build(
    mock_openchoreo: Any, sync_harness_factory: Any
) -> None:
    """``customKinds: auto``: a Backstage that restarted (verdicts forgotten) with OpenChoreo's
    processors now installed gets the custom kinds as they are, though the snapshot is unchanged."""
    with FakeBackstage() as fake:  # vanilla: every custom kind refused, so published as Resource
        harness = await started(sync_harness_factory, mock_openchoreo, overrides(fake, None))
        await harness.run()
        assert (await harness.run()).changes.empty
        sink = harness.daemon.ctx.services.instances["backstage"]
        assert sink.last_build is not None and not sink.native_kinds()
        fake.restart_empty()
        fake.processor_kinds = {"*"}
        assert (await harness.run()).changes.empty  # finds the location gone: registers again
        fake.clear_calls()
        assert (await harness.run()).changes.empty
        assert fake.calls_to("POST", "/api/catalog/validate-entity")
        assert sink.native_kinds() and "default/environment.yaml" in publication(harness).files
