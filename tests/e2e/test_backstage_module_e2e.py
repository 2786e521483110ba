"""The Backstage module (``backstage-module/``) in a REAL Backstage backend, pulling a real daemon.

``e2e/backstage/install-module.sh`` builds the module from the working tree and installs it into
the e2e backend, which adds it with its one ``backend.add(import(...))`` line. The daemon has no
``backstage`` output: Backstage ingests the embedded catalog's snapshot and change feed itself.
One Backstage process for the whole story (plus one restart): full ingest with custom kinds and
relations, deletes and adds through events and through a scheduled run, the daemon down and back
with the world changed, a guarded and a failed run, and Backstage restarted on an empty database.

Backstage calls block and the daemon serves on this test's event loop, so each Backstage call runs
in a thread. Timings are printed (``-s``).
"""

from __future__ import annotations

import asyncio
import copy
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from openchoreo_sync.events import EVENTS_PATH
from openchoreo_sync.model import entity_ref
from openchoreo_sync.testing.harness import SyncHarness
from tests.support.backstage_backend import BACKSTAGE_DIR, BackstageBackend, free_port

pytestmark = pytest.mark.backstage

T = TypeVar("T")
TOKEN = "module-e2e-daemon-token"
FREQUENCY_S = 4
INGEST_TIMEOUT_S = 60.0
CHANGE_TIMEOUT_S = 15.0
REJECTIONS = ("No processor recognized", "NotAllowedError", "InputError", "is not valid")


def timing(label: str, seconds: float) -> None:
    print(f"[backstage module timing] {label}: {seconds:.2f} s")


async def wait_for(bs: BackstageBackend, predicate: Callable[[], T], timeout: float, what: str) -> tuple[T, float]:
    started = time.monotonic()
    value = await asyncio.to_thread(bs.wait_for, predicate, timeout, what)
    return value, time.monotonic() - started


def install_module() -> None:
    result = subprocess.run(
        ["bash", str(BACKSTAGE_DIR / "install-module.sh")], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def relations_of(entity: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"].lower()) for r in entity.get("relations", [])}


def by_ref(entities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entity_ref(e): e for e in entities}


def same_catalog(bs: BackstageBackend, daemon: SyncHarness) -> dict[str, dict[str, Any]] | None:
    """Backstage's entities when they are exactly the daemon's snapshot, relations included."""
    expected = daemon.entities()
    seen = by_ref(bs.entities())
    if set(seen) != set(expected):
        return None
    if any(relations_of(seen[ref]) != relations_of(body) for ref, body in expected.items()):
        return None
    return seen


def put_component(mock: Any, template: dict[str, Any], name: str) -> None:
    body = copy.deepcopy(template)
    body["metadata"] = {
        "name": name,
        "labels": {"openchoreo.dev/project": "url-shortener", "openchoreo.dev/name": name},
    }
    mock.world.put("components", "default", body)


def daemon_overrides(port: int) -> dict[str, Any]:
    # The test empties a namespace's components on purpose (the last one is deleted): the empty-source
    # guard would hold that for 3 runs, so it releases an empty collection at once here.
    return {
        "openchoreo": {
            "server": {"token": TOKEN, "port": port},
            "safety": {"deletionGraceRuns": 1, "emptyCollectionRuns": 1},
        }
    }


async def test_the_module_mirrors_the_daemon_into_backstage(
    backstage_backend_factory: Any, mock_openchoreo: Any, sync_harness_factory: Any, tmp_path: Path
) -> None:
    await asyncio.to_thread(install_module)
    template = copy.deepcopy(mock_openchoreo.world.get("components", "default", "api-service"))
    port, state = free_port(), tmp_path / "daemon"
    daemon = sync_harness_factory(mock_openchoreo.url, daemon_overrides(port), state_dir=state)
    assert (await daemon.run()).status == "ok"
    url = await daemon.serve()
    mock_openchoreo.add_webhook(url + EVENTS_PATH, TOKEN)
    module_config = {
        "openchoreoSync": {"baseUrl": url, "token": TOKEN, "schedule": {"frequency": FREQUENCY_S, "timeout": 30}}
    }
    started = time.monotonic()
    bs: BackstageBackend = await asyncio.to_thread(
        backstage_backend_factory, extra_config=module_config, extra_env={"OPENCHOREO_SYNC_MODULE": "1"}
    )

    # Everything, custom kinds and their relations included, with Backstage's default catalog.rules.
    seen, _ = await wait_for(bs, lambda: same_catalog(bs, daemon), INGEST_TIMEOUT_S, "the daemon's whole catalog")
    timing(f"Backstage start until all {len(seen)} entities with relations", time.monotonic() - started)
    kinds = {e["kind"] for e in seen.values()}
    assert {"Environment", "DeploymentPipeline", "Dataplane", "ComponentType", "Workflow"} <= kinds, kinds
    environment = next(e for e in seen.values() if e["kind"] == "Environment")
    assert any(t in {"deployedBy", "hostedOn"} for t, _ in relations_of(environment)), environment["relations"]
    annotations = environment["metadata"]["annotations"]
    assert "openchoreo-sync.io/relations" not in annotations
    log = bs.log_text()
    assert not [line for line in log.splitlines() if any(word in line for word in REJECTIONS)], bs.log_tail()

    # Events on: a deleted component leaves, a created one arrives, without any full run.
    started = time.monotonic()
    put_component(mock_openchoreo, template, "module-fresh")
    await wait_for(bs, lambda: bs.entity_by_name("component", "default", "module-fresh"), CHANGE_TIMEOUT_S, "creation")
    timing("component created in OpenChoreo (event) until in Backstage", time.monotonic() - started)
    started = time.monotonic()
    mock_openchoreo.world.delete("components", "default", "api-service")
    await wait_for(
        bs, lambda: bs.entity_by_name("component", "default", "api-service") is None, CHANGE_TIMEOUT_S, "deletion"
    )
    timing("component deleted in OpenChoreo (event) until gone from Backstage", time.monotonic() - started)

    # Events off: the daemon's next scheduled run finds the deletion; the feed brings it at once.
    mock_openchoreo.state.events.clear()
    mock_openchoreo.world.delete("components", "default", "module-fresh")
    started = time.monotonic()
    assert (await daemon.run()).status == "ok"
    await wait_for(
        bs, lambda: bs.entity_by_name("component", "default", "module-fresh") is None, CHANGE_TIMEOUT_S, "deletion"
    )
    timing("scheduled run (events off) until the deletion is gone from Backstage", time.monotonic() - started)

    # Daemon down, world changed: Backstage keeps everything; daemon back: it converges.
    before = await asyncio.to_thread(lambda: set(by_ref(bs.entities())))
    skipped = bs.log_text().count("full read not applied")
    await daemon.close()
    await wait_for(bs, lambda: "change feed unavailable" in bs.log_text(), CHANGE_TIMEOUT_S, "the provider noticing")
    await wait_for(
        bs, lambda: bs.log_text().count("full read not applied") > skipped, FREQUENCY_S * 3, "a full read while down"
    )
    assert await asyncio.to_thread(lambda: set(by_ref(bs.entities()))) == before
    put_component(mock_openchoreo, template, "while-down")
    victim = next(r for r in sorted(before) if r.startswith("component:") and r != "component:default/while-down")
    namespace, name = victim.split(":", 1)[1].split("/")
    mock_openchoreo.world.delete("components", namespace, name)
    daemon = sync_harness_factory(mock_openchoreo.url, daemon_overrides(port), state_dir=state)
    assert await daemon.serve() == url
    started = time.monotonic()
    assert (await daemon.run()).status == "ok"
    await wait_for(bs, lambda: same_catalog(bs, daemon), CHANGE_TIMEOUT_S, "convergence after the daemon's return")
    timing("daemon back and synced until Backstage converged", time.monotonic() - started)
    assert await asyncio.to_thread(bs.entity_by_name, "component", namespace, name) is None

    # A guarded run changes nothing in Backstage, across full reads.
    full_count = await asyncio.to_thread(lambda: len(bs.entities()))
    for ns in mock_openchoreo.world.namespaces():
        mock_openchoreo.world.delete("namespaces", "", ns)
    assert (await daemon.run()).status == "guarded"
    await wait_for(bs, lambda: "was guarded" in bs.log_text(), FREQUENCY_S * 3, "a full read after the guarded run")
    assert await asyncio.to_thread(lambda: len(bs.entities())) == full_count

    # So does a failed run (OpenChoreo answering 500 to everything).
    mock_openchoreo.faults.set_failure_rate(1.0)
    assert (await daemon.run()).status == "failed"
    await wait_for(bs, lambda: "was failed" in bs.log_text(), FREQUENCY_S * 3, "a full read after the failed run")
    assert await asyncio.to_thread(lambda: len(bs.entities())) == full_count

    # Backstage restarted (empty in-memory database): its first full read restores everything,
    # the stored snapshot being the last good one although the last run failed.
    await asyncio.to_thread(bs.stop)
    started = time.monotonic()
    await asyncio.to_thread(bs.start)
    restored, _ = await wait_for(bs, lambda: same_catalog(bs, daemon), INGEST_TIMEOUT_S, "restore after restart")
    timing(f"Backstage restart until all {len(restored)} entities are back", time.monotonic() - started)
    assert len(restored) == full_count
