"""Issue 13, item 3: events remove only what is confirmed gone, within the full sync's deletion rules.

A daemon subprocess (events on) reads the mock through a fault proxy. With every path of one
namespace answering 404 (a misrouted gateway, a namespace mid-migration), an event for each of its
objects (the namespace itself included) removes nothing: a 404 counts only next to a namespace
that still answers, and a Namespace's own 404 only when the namespace list no longer has it. A
resource really deleted in a healthy namespace meanwhile still goes at once. Confirmed removals
obey ``deletionGraceRuns`` and ``maxDeletionRatio`` like a full sync: held, and left to the full
syncs. Once the fault is gone, the next full sync converges.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from hardening_helpers import DaemonProcess, FaultProxy, daemon_config, json_answer, stale_names
from starlette.requests import Request
from starlette.responses import Response

from openchoreo_sync.events import EVENTS_PATH
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.mockapi.kinds import kind_info
from openchoreo_sync.testing.polling import poll

SPEC = WorldSpec(seed=7, namespaces=2, projects=2, components=3, example=False)
NAMESPACED = ("projects", "components", "environments", "deploymentpipelines", "resources", "traits", "componenttypes")


def events_of(mock: MockOpenChoreo, namespace: str) -> list[dict[str, str]]:
    """One ``updated`` event per object of ``namespace``, the namespace itself first."""
    events = [{"kind": "Namespace", "name": namespace, "action": "updated"}]
    for collection in NAMESPACED:
        kind = kind_info(collection).event_kind
        events += [
            {"kind": kind, "name": o["metadata"]["name"], "namespace": namespace, "action": "updated"}
            for o in mock.world.items(collection, namespace)
        ]
    return events


def event_counts(daemon: DaemonProcess) -> dict[str, int]:
    response = daemon.get("/metrics")
    assert response is not None and response.status_code == 200
    found = re.findall(r'^openchoreo_sync_events_total\{outcome="(\w+)"\} ([0-9.e+]+)$', response.text, re.M)
    return {outcome: int(float(value)) for outcome, value in found}


def post_events(daemon: DaemonProcess, events: list[dict[str, str]]) -> None:
    """POST each event, then wait (bounded) until the daemon has re-fetched every one of them."""
    counts = event_counts(daemon)
    done_before = sum(counts.get(k, 0) for k in ("refetched", "failed", "ignored"))
    with httpx.Client(timeout=10) as http:
        for event in events:
            response = http.post(daemon.url + EVENTS_PATH, json=event)
            assert response.status_code == 202, response.text

    def handled() -> bool:
        counts = event_counts(daemon)
        return sum(counts.get(k, 0) for k in ("refetched", "failed", "ignored")) >= done_before + len(events)

    poll(handled, timeout=60, what=f"{len(events)} events handled")


def misroute(namespace: str) -> Any:
    """Every path of ``namespace`` (the namespace's own GET included) answers 404, as OpenChoreo does."""
    inside = re.compile(rf"^/api/v1/namespaces/{re.escape(namespace)}(/|$)")

    async def before(request: Request) -> Response | None:
        if not inside.search(request.url.path):
            return None
        return json_answer({"success": False, "error": "not found", "code": "NOT_FOUND"}, status=404)

    return before


def test_events_against_a_misrouted_namespace_remove_nothing(tmp_path: Path) -> None:
    with MockOpenChoreo(SPEC) as mock, FaultProxy(mock.url) as proxy:
        broken, healthy = mock.world.namespaces()
        config = daemon_config(
            proxy.url,
            tmp_path,
            {"openchoreo": {"events": {"enabled": True}, "schedule": {"frequency": 3}, "safety": {}}},
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            daemon.wait_for_run(after=0)
            synced = daemon.entity_names()
            assert any(f":{broken}/" in name for name in synced)

            proxy.before = misroute(broken)
            attack = events_of(mock, broken)
            # Meanwhile a component really is deleted in the healthy namespace: that one must go.
            deleted = mock.world.items("components", healthy)[0]["metadata"]["name"]
            mock.world.delete("components", healthy, deleted)
            post_events(daemon, [*attack, {"kind": "component", "name": deleted, "namespace": healthy, "action": "x"}])

            names = daemon.entity_names()
            lost = {n for n in synced - names if not n.startswith("Component:") or not n.endswith(f"/{deleted}")}
            lost -= {n for n in synced - names if n.startswith("API:") and deleted in n}  # the deleted one's APIs
            assert not lost, f"{len(lost)} entities removed by {len(attack)} events: {sorted(lost)}"
            assert f"Component:{healthy}/{deleted}" not in names, "a confirmed deletion still applies at once"
            counts = event_counts(daemon)
            assert counts.get("unconfirmed", 0) >= 1, counts
            assert daemon.alive()

            # The full sync under the same fault carries the namespace (stale), as before.
            runs = len(daemon.finished_runs())
            daemon.wait_for_run(after=runs, timeout=60)
            assert synced - names <= synced - daemon.entity_names()
            assert any(f":{broken}/" in name for name in stale_names(daemon))

            # The fault clears: the next good run converges, nothing stale.
            proxy.before = None
            runs = len(daemon.finished_runs())
            daemon.wait_for_run(after=runs + 1, timeout=60)
            assert not stale_names(daemon)
            assert daemon.entity_names() == names
            print(f"\nmisrouted namespace: {len(attack)} events, 0 entities lost; unconfirmed removals {counts}")
        finally:
            assert daemon.stop() == 0


@pytest.mark.parametrize(
    ("safety", "reason"),
    [
        ({"deletionGraceRuns": 2}, "deletionGraceRuns"),
        ({"maxDeletionRatio": 0.02}, "maxDeletionRatio"),  # of 75 entities: the second removal is over
    ],
)
def test_confirmed_event_removals_obey_the_full_syncs_deletion_rules(
    tmp_path: Path, safety: dict[str, Any], reason: str
) -> None:
    with MockOpenChoreo(SPEC) as mock:
        namespace = mock.world.namespaces()[1]
        config = daemon_config(
            mock.url,
            tmp_path,
            {"openchoreo": {"events": {"enabled": True}, "schedule": {"frequency": 3600}, "safety": safety}},
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            daemon.wait_for_run(after=0)
            synced = daemon.entity_names()
            assert len(synced) >= 60, len(synced)
            doomed = [o["metadata"]["name"] for o in mock.world.items("components", namespace)[:3]]
            for name in doomed:
                mock.world.delete("components", namespace, name)
            post_events(
                daemon, [{"kind": "component", "name": n, "namespace": namespace, "action": "deleted"} for n in doomed]
            )
            names = daemon.entity_names()
            still = {f"Component:{namespace}/{n}" for n in doomed} & names
            assert still, f"every removal applied at once, {reason} notwithstanding"
            assert event_counts(daemon).get("held", 0) >= 1
            held = daemon.wait_for("event removal held")
            assert reason in held["reason"], held
            assert daemon.alive()
            assert synced - names <= {f"Component:{namespace}/{n}" for n in doomed} | {
                n for n in synced if n.startswith("API:") and any(d in n for d in doomed)
            }, "only the deleted components (and their APIs) may be gone"
        finally:
            assert daemon.stop() == 0
