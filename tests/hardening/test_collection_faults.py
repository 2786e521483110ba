"""Issue 13, items 6 and 9: a hanging and an endless collection; one namespace's lists silently empty.

One daemon subprocess (frequency 1, ``schedule.timeout`` 9 s, so each collection has 3 s) reads the
mock through a fault proxy. A collection that never answers and one whose cursor never ends fail
alone, carried forward, while the rest of the run is applied; a namespace whose lists all answer
``200 {"items": []}`` (a reader role without ``:view``) keeps its entities, stale, run after run,
with a log naming the likely missing permission; both converge once the fault is gone.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

from hardening_helpers import DaemonProcess, FaultProxy, daemon_config, json_answer, stale_names
from starlette.requests import Request
from starlette.responses import Response

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.polling import poll

SPEC = WorldSpec(seed=7, namespaces=2, projects=1, components=3, example=False)


def add_environment(mock: MockOpenChoreo, namespace: str, name: str) -> str:
    env = copy.deepcopy(mock.world.items("environments", namespace)[0])
    env["metadata"] = {"name": name}
    mock.world.put("environments", namespace, env)
    return f"Environment:{namespace}/{name}"


def test_slow_endless_and_silently_empty_collections_fail_alone(tmp_path: Path) -> None:
    with MockOpenChoreo(SPEC) as mock, FaultProxy(mock.url) as proxy:
        hung, healthy = mock.world.namespaces()
        config = daemon_config(
            proxy.url,
            tmp_path,
            {"openchoreo": {"schedule": {"frequency": 1, "timeout": 9}, "safety": {"emptyCollectionRuns": 30}}},
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            daemon.wait_for_run(after=0)
            synced = daemon.entity_names()

            # --- item 6: one collection hangs, another's cursor never ends ---------------------
            mock.faults.add(path=f"^/api/v1/namespaces/{hung}/components$", action="timeout", hang_seconds=60)
            cursors = itertools.count()
            endless = re.compile(rf"^/api/v1/namespaces/{hung}/traits$")

            async def endless_cursor(request: Request) -> Response | None:
                if not endless.search(request.url.path):
                    return None
                return json_answer({"items": [], "pagination": {"nextCursor": f"c{next(cursors)}"}})

            proxy.before = endless_cursor
            fresh = {add_environment(mock, healthy, "while-hung"), add_environment(mock, hung, "beside-hung")}
            runs = len(daemon.finished_runs()) + 1  # the run in flight may predate the faults
            applied = daemon.wait_for_run(after=runs, timeout=60)
            assert applied["status"] == "partial", applied
            assert len(applied["summary"]["failed_collections"]) == 2, applied
            assert daemon.count("hung and was cancelled") == 0, "one slow collection must not time the run out"
            names = daemon.entity_names()
            assert fresh <= names, "the healthy collections' updates must be applied"
            assert synced <= names, "nothing of the slow collections may be lost"
            assert any(name.startswith(f"Component:{hung}/") for name in stale_names(daemon))
            pages = next(cursors)
            print(f"\nendless cursor: {pages} pages walked before its collection deadline (3 s) failed it alone")

            mock.faults.reset()
            proxy.before = None
            poll(lambda: not stale_names(daemon), timeout=60, what="the run after the slow collections to converge")
            converged = daemon.entity_names()
            assert synced | fresh == converged

            # --- item 9: every list of one namespace answers 200 {"items": []} -----------------
            namespaced = re.compile(rf"^/api/v1/namespaces/{hung}/[a-z]+$")

            async def unauthorised_lists(request: Request) -> Response | None:
                if namespaced.search(request.url.path):
                    return json_answer({"items": [], "pagination": {}})
                return None

            proxy.before = unauthorised_lists
            runs = len(daemon.finished_runs()) + 1
            held_runs = [daemon.wait_for_run(after=runs + i, timeout=60) for i in range(3)]
            assert all(r["status"] == "partial" and not r["summary"]["changes"]["removed"] for r in held_runs)
            assert all(r["summary"]["empty_held"] for r in held_runs), held_runs
            assert daemon.entity_names() == converged, "a silently empty namespace must not lose its entities"
            assert stale_names(daemon) >= {n for n in converged if n.startswith(f"Component:{hung}/")}
            warnings = [e for e in daemon.events() if e.get("event") == "empty collection held; its entities are kept"]
            assert any(f"{hung}/components" in w["reason"] and "component:view" in w["reason"] for w in warnings)
            shown = daemon.cli("status")
            assert "empty, held" in shown.stdout, shown.stdout

            proxy.before = None
            poll(lambda: not stale_names(daemon), timeout=60, what="the run after the empty lists to converge")
            assert daemon.entity_names() == converged
            assert daemon.alive()
        finally:
            daemon.stop()
