"""The ``backstage`` output against a REAL vanilla Backstage: heals itself, sees refusals, fits as is.

One flow on one backend port, to keep the cost at three Backstage starts (each costs seconds of
CPU on a small machine): a vanilla Backstage (no OpenChoreo processors) with default settings
gets every entity, the OpenChoreo relations in Backstage's built-in form and real owner groups;
the same Backstage restarted on an empty database, and then without our location, gets everything
back on the next run although nothing changed in OpenChoreo; restarted once more with
``catalog.rules`` (only in Backstage's config) that leave out ``Resource``, the run is
``partial`` and the run record names the kind with Backstage's reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from openchoreo_sync import relations as rel
from openchoreo_sync.plugin_probe import probe_plugins
from openchoreo_sync.plugins.backstage.graph import BUILTIN_RELATIONS, DEPENDENCY_KINDS, is_forward
from tests.support.backstage_backend import STANDARD_KINDS, BackstageBackend

pytestmark = pytest.mark.backstage

T = TypeVar("T")
BACK_WITHIN_S = 10.0
"""After the next run, everything must be back within this bound (the issue's "frequency + 10 s")."""


def config_for(bs: BackstageBackend) -> dict[str, Any]:
    """Default settings: no catalog.rules here, customKinds auto, owner groups on."""
    return {"openchoreo": {"plugins": {"backstage": {"enabled": True, "baseUrl": bs.url, "token": bs.token}}}}


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Backstage calls block; the daemon Backstage reads from serves on this loop."""
    return await asyncio.to_thread(fn, *args)


def published(harness: Any) -> list[str]:
    pub = harness.daemon.ctx.services.instances["backstage"].served
    refs = [ref for refs in pub.members.values() for ref in refs]
    return refs + [pub.location_entity_ref(p) for p in pub.entity_files()]


def missing_in(bs: BackstageBackend, refs: list[str]) -> list[str]:
    items = bs.request("POST", "/api/catalog/entities/by-refs", json={"entityRefs": refs, "fields": ["kind"]})
    return [ref for ref, item in zip(refs, items.json()["items"], strict=True) if item is None]


async def all_back(bs: BackstageBackend, refs: list[str], what: str) -> float:
    started = time.monotonic()
    await in_thread(bs.wait_for, lambda: not missing_in(bs, refs), BACK_WITHIN_S, what)
    return time.monotonic() - started


def expected_relation(relation_type: str, source: str, target: str) -> str | None:
    """The built-in relation Backstage shows for an OpenChoreo relation, or None when unexpressible."""
    if relation_type in BUILTIN_RELATIONS:
        return relation_type
    kinds = {source.split(":", 1)[0], target.split(":", 1)[0]}
    return rel.DEPENDS_ON if kinds & DEPENDENCY_KINDS else None


async def test_vanilla_backstage_gets_everything_heals_itself_and_names_what_it_refuses(
    mock_openchoreo, sync_harness_factory
):
    bs = await in_thread(BackstageBackend(allow_kinds=list(STANDARD_KINDS)).start)
    try:
        harness = sync_harness_factory(mock_openchoreo.url, config_for(bs))
        await harness.serve()
        sink = harness.daemon.ctx.services.instances["backstage"]

        # 1. A vanilla Backstage, default settings: every entity arrives (verified by the run itself).
        first = await harness.run()
        assert first.status == "ok", first.summary.get("output_problems")
        refs = published(harness)
        assert await in_thread(missing_in, bs, refs) == []
        details = first.summary["output_details"]["backstage"]
        assert details["in_backstage"] == details["published"] and details["kinds_accepted_as_is"] == []
        print(f"[backstage trust] first run verified in {details['verify_seconds']} s, {len(refs)} refs")

        # check --probe asks Backstage too: token, that it reads us, what its processors accept. The
        # daemon serves on an ephemeral port, so the probe is told the URL as an operator would.
        plugins = harness.engine.plugins
        plugins.settings["backstage"] = plugins.settings["backstage"].model_copy(
            update={"publish_url": harness.daemon.http.url}
        )
        probes = {r.name: r for r in await probe_plugins(harness.engine.config, plugins)}
        assert all(probes[n].ok for n in ("backstage token", "backstage reads us", "backstage processors")), probes[
            "backstage reads us"
        ]
        assert "published as Resource" in probes["backstage processors"].detail

        # Each OpenChoreo relation between two synced entities, in its built-in form.
        in_backstage = {
            f"{e['kind'].lower()}:{e['metadata'].get('namespace', 'default')}/{e['metadata']['name']}": e
            for e in await in_thread(bs.entities)
        }
        ref_map = sink.last_prepared.ref_map
        checked = 0
        for ref in first.entities:
            for relation in first.entity(ref).get("relations", []):
                source, target = ref_map.get(ref), ref_map.get(relation["targetRef"])
                if not is_forward(relation["type"]) or source is None or target is None:
                    continue
                wanted = expected_relation(relation["type"], source, target)
                if wanted is None:
                    continue
                have = {(r["type"], r["targetRef"]) for r in in_backstage[source].get("relations", [])}
                assert (wanted, target) in have, (relation["type"], source, target)
                checked += 1
        assert checked > 100
        print(f"[backstage trust] {checked} relations checked; {details['relations_in_builtin_fields']}")

        # The owner groups exist: no ownedBy is dangling.
        owners = {
            r["targetRef"] for e in in_backstage.values() for r in e.get("relations", []) if r["type"] == "ownedBy"
        }
        assert "group:default/openchoreo-users" in owners and owners <= in_backstage.keys()

        # 2. Backstage restarted on an empty database; nothing changed in OpenChoreo.
        await in_thread(bs.stop)
        await in_thread(bs.start)
        assert await in_thread(missing_in, bs, refs), "the restart should have emptied the catalog"
        again = await harness.run()
        assert again.changes.empty and again.status == "ok", again.summary.get("output_problems")
        seconds = await all_back(bs, refs, "every entity back after an empty restart")
        print(f"[backstage trust] empty restart: back {seconds:.2f} s after the next run")

        # 3. Someone deleted our location: Backstage drops its entities at once.
        (location,) = await in_thread(bs.locations)
        await in_thread(bs.unregister_location, location["id"])
        third = await harness.run()
        assert third.changes.empty and third.status == "ok", third.summary.get("output_problems")
        seconds = await all_back(bs, refs, "every entity back after the location was deleted")
        print(f"[backstage trust] deleted location: back {seconds:.2f} s after the next run")

        # 4. catalog.rules only in Backstage's config, without Resource: named, with the reason; partial.
        await in_thread(bs.stop)
        bs.allow_kinds = [k for k in STANDARD_KINDS if k != "Resource"]
        await in_thread(bs.start)
        refused = await harness.run()
        assert refused.status == "partial"
        assert harness.store.get_run(refused.run_id).status == "partial"
        problems = refused.summary["output_problems"]["backstage"]
        line = next(p for p in problems if " Resource entit" in p)
        assert "is not of an allowed kind" in line and "catalog.rules" in line, line
        assert refused.summary["output_details"]["backstage"]["rejected"]["Resource"] > 0
        probes = {r.name: r for r in await probe_plugins(harness.engine.config, plugins)}
        reads = probes["backstage reads us"]
        assert not reads.ok and "is not of an allowed kind" in reads.detail and "allow Resource" in reads.detail
    finally:
        await in_thread(bs.cleanup)
