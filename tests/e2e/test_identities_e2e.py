"""Users and Groups from the mock's Thunder directory, ingested by a REAL Backstage.

Backstage's own processors turn ``spec.memberOf``/``members``/``parent``/``children`` into
``memberOf``/``hasMember`` and ``childOf``/``parentOf`` relations; they appear only when the
references resolve to entities Backstage holds, which is the point (upstream's never do). Only
the identities family and the backstage output run (the session Backstage is shared); the
location it registered is unregistered at the end.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.backstage_backend import BackstageBackend, relation_targets

pytestmark = pytest.mark.backstage

INGEST_TIMEOUT_S = 45.0
OPENCHOREO_FAMILIES = ("namespaces", "components", "component_types", "cluster_kinds", "platform_planes")


def config(bs: BackstageBackend, thunder_url: str) -> dict[str, Any]:
    plugins: dict[str, Any] = {name: {"enabled": False} for name in OPENCHOREO_FAMILIES}
    plugins["backstage"] = {"enabled": True, "baseUrl": bs.url, "token": bs.token}
    return {
        "openchoreo": {"plugins": plugins},
        "thunder": {"baseUrl": thunder_url},
        "catalog": {"rules": [{"allow": ["User", "Group", "Location"]}]},
    }


async def test_backstage_relates_the_synced_users_and_groups(
    backstage_backend: BackstageBackend, mock_openchoreo, sync_harness_factory
) -> None:
    bs = backstage_backend
    harness = sync_harness_factory(mock_openchoreo.url, config(bs, mock_openchoreo.thunder_url))
    served_at = await harness.serve()
    result = await harness.run()
    assert result.status == "ok", result.summary
    ours = {ref for ref, e in result.entities.items() if e["kind"] in ("User", "Group")}
    try:

        def related() -> dict[str, Any] | None:
            alice = bs.entity_by_name("user", "default", "alice")
            return alice if alice and relation_targets(alice, "memberOf") else None

        alice = await asyncio.to_thread(bs.wait_for, related, INGEST_TIMEOUT_S, "user alice with memberOf")
        assert relation_targets(alice, "memberOf") == {"group:default/openchoreo-users"}

        def nested() -> dict[str, Any] | None:
            group = bs.entity_by_name("group", "default", "backend-devs")
            return (
                group if group and relation_targets(group, "childOf") and relation_targets(group, "hasMember") else None
            )

        backend = await asyncio.to_thread(bs.wait_for, nested, INGEST_TIMEOUT_S, "group backend-devs related")
        assert relation_targets(backend, "childOf") == {"group:default/engineering"}
        assert relation_targets(backend, "hasMember") == {"user:default/frank", "user:default/grace"}
        top = await asyncio.to_thread(bs.entity_by_name, "group", "default", "openchoreo-users")
        assert top is not None
        assert "thunder.io/group-id" in top["metadata"]["annotations"]  # the directory's group, not a stand-in
        assert {"group:default/engineering", "group:default/platform-team"} <= relation_targets(top, "parentOf")
        assert {"user:default/alice", "user:default/bob-smith-example-com"} <= relation_targets(top, "hasMember")

        def all_ingested() -> bool:
            held = {
                f"{e['kind'].lower()}:{e['metadata']['namespace']}/{e['metadata']['name']}"
                for e in bs.entities(["kind=user", "kind=group"])
            }
            return ours <= held

        await asyncio.to_thread(bs.wait_for, all_ingested, INGEST_TIMEOUT_S, "every synced User and Group")
        assert "is not of an allowed kind" not in await asyncio.to_thread(bs.log_text)
    finally:
        for location in await asyncio.to_thread(bs.locations):
            if str(location.get("target", "")).startswith(served_at):  # ours only: the backend is shared
                await asyncio.to_thread(bs.unregister_location, location["id"])
