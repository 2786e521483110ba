"""The identities family over real HTTP: the mock's Thunder directory, the real engine and store.

Membership and ownership resolve across the whole synced set; a failed ``/users`` page deletes
nobody and the next good run removes exactly who left; the directory keeps its own schedule; a
token is sent and never logged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from openchoreo_sync.errors import ConfigError
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.model import Entity, normalize_ref
from openchoreo_sync.reconcile import STALE_ANNOTATION
from openchoreo_sync.testing.harness import SyncHarness

OPENCHOREO_ONLY_SMALL = WorldSpec(namespaces=1, projects=1, components=3)


@pytest.fixture
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(OPENCHOREO_ONLY_SMALL) as m:
        yield m


def harness(mock: MockOpenChoreo, tmp_path: Path, **thunder: Any) -> SyncHarness:
    return SyncHarness(mock.url, tmp_path, {"thunder": {"baseUrl": mock.thunder_url, **thunder}})


@pytest.fixture
async def synced(mock: MockOpenChoreo, tmp_path: Path) -> AsyncIterator[SyncHarness]:
    h = harness(mock, tmp_path)
    try:
        yield h
    finally:
        await h.close()


def directory_requests(mock: MockOpenChoreo) -> int:
    by_path: dict[str, int] = mock.stats.snapshot()["by_path"]
    return sum(n for path, n in by_path.items() if path.startswith("/thunder/"))


def age_directory(state_dir: Path) -> None:
    """Make the directory's last complete read look an hour old (the schedule's clock is the store's)."""
    with sqlite3.connect(state_dir / "state.sqlite3") as db:
        db.execute(
            "UPDATE collections SET last_ok_at = '2000-01-01T00:00:00.000000Z' WHERE key LIKE '%:cluster/thunder-%'"
        )


def people(entities: dict[str, Entity]) -> set[str]:
    return {ref for ref, e in entities.items() if e["kind"] in ("User", "Group")}


def owner_group_refs(entities: dict[str, Entity]) -> set[str]:
    refs = set()
    for entity in entities.values():
        owner = (entity.get("spec") or {}).get("owner")
        if isinstance(owner, str) and owner:
            namespace = entity["metadata"].get("namespace") or "default"
            ref = normalize_ref(owner, default_kind="group", default_namespace=namespace)
            if ref.startswith("group:"):
                refs.add(ref)
    return refs


async def test_membership_and_every_owner_group_resolve_within_the_synced_set(tmp_path: Path) -> None:
    with MockOpenChoreo() as mock:  # the default world: owners named by backstage.io/owner annotations too
        h = harness(mock, tmp_path)
        try:
            result = await h.run()
        finally:
            await h.close()
    assert result.status == "ok", result.summary
    entities = result.entities
    users = {r for r, e in entities.items() if e["kind"] == "User"}
    groups = {r for r, e in entities.items() if e["kind"] == "Group"}
    assert len(users) >= 10 and len(groups) >= 5
    assert result.summary["dangling"] == {}
    owners = owner_group_refs(entities)
    assert "group:default/openchoreo-users" in owners and len(owners) >= 3
    assert owners <= groups, sorted(owners - groups)
    relation_types = set()
    for ref in users | groups:
        for relation in result.entity(ref).get("relations", []):
            relation_types.add(relation["type"])
            assert relation["targetRef"] in entities, (ref, relation)
    assert {"memberOf", "hasMember", "childOf", "parentOf", "ownerOf"} <= relation_types
    top = result.entity("group:default/openchoreo-users")
    owned = [r["targetRef"] for r in top["relations"] if r["type"] == "ownerOf"]
    assert any(ref.startswith("component:") for ref in owned)


async def test_a_500_on_the_third_users_page_loses_nobody_and_the_next_run_removes_exactly_who_left(
    mock: MockOpenChoreo, synced: SyncHarness, tmp_path: Path
) -> None:
    mock.directory.max_limit = 4  # 13 users: four pages, whatever limit the client asks for
    first = await synced.run()
    assert first.status == "ok", first.summary
    before = people(first.entities)
    assert len([r for r in before if r.startswith("user:")]) == 13

    leaver = mock.directory.user_by_name("grace")
    assert leaver is not None and mock.directory.delete_user(leaver["id"])
    mock.faults.fail(r"^/thunder/users$", status=500, page=3)
    age_directory(tmp_path)
    faulted = await synced.run()
    assert faulted.status == "partial"
    reasons = faulted.summary["failed_collections"]
    assert set(reasons) == {"identities:cluster/thunder-users", "identities:cluster/thunder-groups"}
    assert all("GET /users, page 3" in reason and "500" in reason for reason in reasons.values()), reasons
    kept = synced.entities()
    assert before <= people(kept)  # nobody disappeared, the leaver included (not read completely)
    assert all(STALE_ANNOTATION in kept[ref]["metadata"]["annotations"] for ref in before)
    assert not any(r.startswith(("user:", "group:")) for r in faulted.changes.removed)

    mock.faults.clear_rules()
    age_directory(tmp_path)
    healed = await synced.run()
    assert healed.status == "ok", healed.summary
    assert healed.changes.removed == ["user:default/grace"]
    after = synced.entities()
    assert people(after) == before - {"user:default/grace"}
    assert not any(STALE_ANNOTATION in after[ref]["metadata"].get("annotations", {}) for ref in people(after))
    backend = after["group:default/backend-devs"]
    assert backend["spec"]["members"] == ["frank"]


async def test_the_directory_keeps_its_own_schedule(mock: MockOpenChoreo, synced: SyncHarness, tmp_path: Path) -> None:
    first = await synced.run()
    assert first.status == "ok"
    read = directory_requests(mock)
    assert read >= 2
    mock.directory.delete_user(mock.directory.user_by_name("alice")["id"])  # type: ignore[index]

    second = await synced.run()  # an OpenChoreo run within thunder.schedule.frequency: no directory read
    assert second.status == "ok", second.summary
    assert directory_requests(mock) == read
    assert sorted(second.summary["unchanged_collections"]) == [
        "identities:cluster/thunder-groups",
        "identities:cluster/thunder-users",
    ]
    kept = synced.entities()
    assert people(kept) == people(first.entities)
    assert not any(STALE_ANNOTATION in kept[r]["metadata"].get("annotations", {}) for r in people(kept))
    assert second.changes.summary() == {"added": 0, "changed": 0, "removed": 0}

    age_directory(tmp_path)  # frequency elapsed
    third = await synced.run()
    assert directory_requests(mock) > read
    assert "user:default/alice" in third.changes.removed


async def test_off_without_base_url(mock: MockOpenChoreo, tmp_path: Path) -> None:
    h = SyncHarness(mock.url, tmp_path)
    try:
        result = await h.run()
    finally:
        await h.close()
    assert result.status == "ok"
    assert not people(result.entities)
    assert directory_requests(mock) == 0


async def test_a_static_token_is_sent_and_never_logged(
    mock: MockOpenChoreo,
    tmp_path: Path,
    canaries: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = canaries["client_secret"]
    mock.directory.token = token
    h = harness(mock, tmp_path, token=token)
    try:
        result = await h.run()
    finally:
        await h.close()
    assert result.status == "ok", result.summary
    assert people(result.entities)
    assert mock.stats.snapshot()["auth_headers"]  # the autouse canary check fails the test on any leak


async def test_a_missing_token_fails_the_directory_with_a_hint_and_deletes_nobody(
    mock: MockOpenChoreo, synced: SyncHarness, tmp_path: Path
) -> None:
    first = await synced.run()
    mock.directory.token = "directory-token-1234"
    age_directory(tmp_path)
    second = await synced.run()
    assert second.status == "partial"
    reason = second.summary["failed_collections"]["identities:cluster/thunder-users"]
    assert "401" in reason and "thunder.token" in reason
    assert people(first.entities) <= people(synced.entities())


async def test_oauth2_client_credentials_for_thunder(tmp_path: Path, canaries: dict[str, str]) -> None:
    with MockOpenChoreo(OPENCHOREO_ONLY_SMALL, auth=True, client_secret=canaries["client_secret"]) as mock:
        mock.directory.accept_oauth = True
        auth = {"clientId": mock.client_id, "clientSecret": mock.client_secret, "tokenUrl": mock.token_url}
        h = SyncHarness(
            mock.url,
            tmp_path,
            {
                "openchoreo": {"features": {"auth": {"enabled": True}}, "auth": auth},
                "thunder": {"baseUrl": mock.thunder_url, "auth": auth},
            },
        )
        try:
            result = await h.run()
        finally:
            await h.close()
    assert result.status == "ok", result.summary
    assert "user:default/alice" in result.entities


async def test_a_bad_thunder_block_stops_the_daemon_at_start(mock: MockOpenChoreo, tmp_path: Path) -> None:
    h = harness(mock, tmp_path, schedule={"frequency": {"minutes": 10}})
    try:
        with pytest.raises(ConfigError, match="thunder.schedule.frequency"):
            await h.start()
    finally:
        await h.close()


async def test_a_directory_read_past_its_timeout_is_kept_stale(mock: MockOpenChoreo, tmp_path: Path) -> None:
    h = harness(mock, tmp_path, schedule={"timeout": 1})
    try:
        first = await h.run()
        mock.faults.add(path=r"^/thunder/groups$", action="timeout", hang_seconds=30)
        age_directory(tmp_path)
        result = await h.run()
        kept = h.entities()
    finally:
        await h.close()
    assert first.status == "ok" and result.status == "partial"
    reason = result.summary["failed_collections"]["identities:cluster/thunder-groups"]
    assert "thunder.schedule.timeout (1 s)" in reason
    assert people(first.entities) <= people(kept)


async def test_export_reads_the_directory_even_when_it_is_not_due(mock: MockOpenChoreo, synced: SyncHarness) -> None:
    first = await synced.run()
    read = directory_requests(mock)
    entities, build = await synced.engine.export()
    assert directory_requests(mock) > read
    assert people(entities) == people(first.entities) and not build.collections_unchanged
