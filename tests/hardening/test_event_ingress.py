"""Issue 13, item 4 and the forwarder's restart burst: the events endpoint is guarded and unfloodable.

- Off loopback, events need a token: ``check`` and ``run`` refuse the config, naming the key.
- ``openchoreo.events.signatureSecret``: an event without the right HMAC is a 401.
- A flood of forged events (names the catalog does not hold) does not starve a real one: the
  real event is re-fetched before the forged ones queued ahead of it, and the forged ones have a
  bounded budget (then one full sync covers whatever they may have been).
- OpenChoreo's forwarder sends a ``created`` for every object when it restarts: 10,000 of them
  are absorbed by full syncs instead of re-fetched one by one (upstream GETs counted at the mock).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from hardening_helpers import CLI, DaemonProcess, daemon_config

from openchoreo_sync.events import EVENTS_PATH, SIGNATURE_HEADER
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.mockapi.kinds import kind_info
from openchoreo_sync.testing.polling import poll

SPEC = WorldSpec(seed=7, namespaces=2, projects=2, components=3, example=False)


def test_events_off_loopback_need_a_token(tmp_path: Path) -> None:
    config = daemon_config("http://127.0.0.1:9", tmp_path, {"openchoreo": {"events": {"enabled": True}}})
    config["openchoreo"]["server"]["host"] = "0.0.0.0"
    path = tmp_path / "app-config.yaml"
    path.write_text(yaml.safe_dump(config))
    check = subprocess.run([CLI, "check", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert check.returncode != 0, check.stdout
    assert "openchoreo.events.token" in check.stderr + check.stdout, check.stderr
    run = subprocess.run([CLI, "run", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "openchoreo.events.token" in run.stderr + run.stdout, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    # A token (either one), loopback, or events off: accepted.
    for change in (
        {"events": {"token": "t0ken-for-events"}},
        {"server": {"token": "t0ken-for-server"}},
        {"server": {"host": "127.0.0.1"}},
        {"events": {"enabled": False}},
    ):
        fixed = copy.deepcopy(config)
        for section, keys in change.items():
            fixed["openchoreo"][section].update(keys)
        path.write_text(yaml.safe_dump(fixed))
        check = subprocess.run([CLI, "check", "--config", str(path)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, (change, check.stderr)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def title_of(daemon: DaemonProcess, namespace: str, name: str) -> str | None:
    response = daemon.get(f"/api/catalog/entities/by-name/component/{namespace}/{name}")
    return response.json()["metadata"].get("title") if response is not None and response.status_code == 200 else None


def retitle(mock: MockOpenChoreo, namespace: str, name: str, title: str) -> None:
    body = copy.deepcopy(mock.world.get("components", namespace, name))
    body["metadata"].setdefault("annotations", {})["openchoreo.dev/display-name"] = title
    mock.world.put("components", namespace, body)


def test_signed_events(tmp_path: Path) -> None:
    secret = "hmac-s3cret-for-events"
    with MockOpenChoreo(SPEC) as mock:
        config = daemon_config(
            mock.url,
            tmp_path,
            {"openchoreo": {"events": {"enabled": True, "signatureSecret": secret}, "schedule": {"frequency": 3600}}},
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            daemon.wait_for_run(after=0)
            namespace = mock.world.namespaces()[0]
            name = mock.world.items("components", namespace)[0]["metadata"]["name"]
            retitle(mock, namespace, name, "Signed Title")
            body = json.dumps({"kind": "component", "name": name, "namespace": namespace, "action": "updated"}).encode()
            url = daemon.url + EVENTS_PATH
            headers = {"content-type": "application/json"}
            assert httpx.post(url, content=body, headers=headers).status_code == 401
            wrong = {**headers, SIGNATURE_HEADER: sign("not-the-secret", body)}
            assert httpx.post(url, content=body, headers=wrong).status_code == 401
            tampered = {**headers, SIGNATURE_HEADER: sign(secret, body + b" ")}
            assert httpx.post(url, content=body, headers=tampered).status_code == 401
            assert title_of(daemon, namespace, name) != "Signed Title"
            right = {**headers, SIGNATURE_HEADER: sign(secret, body)}
            assert httpx.post(url, content=body, headers=right).status_code == 202
            poll(lambda: title_of(daemon, namespace, name) == "Signed Title", timeout=30, what="the signed event")
            assert secret not in daemon.log_text()
        finally:
            assert daemon.stop() == 0


async def post_all(
    url: str, events: list[dict[str, Any]], concurrency: int = 16, sent: list[int] | None = None
) -> None:
    sent = sent if sent is not None else [0]
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http:

        async def sender(worker: int) -> None:
            for event in events[worker::concurrency]:
                response = await http.post(url, json=event)
                assert response.status_code == 202, response.text
                sent[0] += 1

        await asyncio.gather(*(sender(w) for w in range(concurrency)))


def forged_gets(mock: MockOpenChoreo, since: int) -> int:
    return sum(1 for r in mock.stats.records[since:] if "forged-" in r.path)


def test_forged_flood_does_not_starve_a_real_event(tmp_path: Path) -> None:
    with MockOpenChoreo(SPEC) as mock:
        config = daemon_config(
            mock.url, tmp_path, {"openchoreo": {"events": {"enabled": True}, "schedule": {"frequency": 3600}}}
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            daemon.wait_for_run(after=0)
            synced = daemon.entity_names()
            namespace = mock.world.namespaces()[0]
            name = mock.world.items("components", namespace)[0]["metadata"]["name"]
            forged = [
                {"kind": "component", "name": f"forged-{i}", "namespace": namespace, "action": "created"}
                for i in range(3000)
            ]
            url = daemon.url + EVENTS_PATH
            base = len(mock.stats.records)
            sent = [0]
            flood = threading.Thread(target=asyncio.run, args=(post_all(url, forged, sent=sent),), daemon=True)
            started = time.monotonic()
            flood.start()
            poll(lambda: sent[0] >= 1500, timeout=120, what="half the flood posted")
            retitle(mock, namespace, name, "Real Change")
            real = {"kind": "component", "name": name, "namespace": namespace, "action": "updated"}
            mark = len(mock.stats.records)
            sent = time.monotonic()
            assert httpx.post(url, json=real, timeout=30).status_code == 202
            poll(lambda: title_of(daemon, namespace, name) == "Real Change", timeout=300, what="the real event")
            delay = time.monotonic() - sent
            ahead = forged_gets(mock, mark)
            flood.join(timeout=120)
            assert not flood.is_alive()
            flood_seconds = time.monotonic() - started
            assert ahead <= 50, f"{ahead} forged re-fetches went before the real event (applied after {delay:.1f} s)"
            assert daemon.alive()
            assert synced <= daemon.entity_names(), "nothing synced may be lost"
            poll(lambda: daemon.count("event burst absorbed") >= 1, timeout=120, what="the flood's end")
            total = forged_gets(mock, base)
            assert total <= 1000, f"{total} upstream GETs for 3,000 forged events"
            print(
                f"\n3,000 forged events in {flood_seconds:.1f} s: real event applied {delay:.2f} s after it was "
                f"sent, {ahead} forged GETs before it, {total} forged GETs in all"
            )
        finally:
            assert daemon.stop() == 0


BURST_SPEC = WorldSpec(seed=11, namespaces=10, projects=10, components=45, example=False)
COLLECTIONS = ("projects", "components", "workloads", "environments", "deploymentpipelines", "resources", "traits")


def restart_burst(mock: MockOpenChoreo, size: int) -> list[dict[str, Any]]:
    """The forwarder's initial list after a restart: a ``created`` for every object, ``size`` in all."""
    events: list[dict[str, Any]] = []
    for namespace in mock.world.namespaces():
        events.append({"kind": "Namespace", "name": namespace, "action": "created"})
        for collection in COLLECTIONS:
            kind = kind_info(collection).event_kind
            events += [
                {"kind": kind, "name": o["metadata"]["name"], "namespace": namespace, "action": "created"}
                for o in mock.world.items(collection, namespace)
            ]
    distinct = len(events)
    while len(events) < size:  # restarted again before the first list was through
        events.append(events[len(events) - distinct])
    return events[:size]


def single_gets(mock: MockOpenChoreo, since: int) -> int:
    """Item GETs (``/api/v1/namespaces/<ns>/<collection>/<name>``), what each re-fetch costs."""
    return sum(1 for r in mock.stats.records[since:] if r.path.count("/") == 6)


def full_runs(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return [r for r in daemon.finished_runs() if not r["run_id"].startswith("ev-")]


def test_forwarder_restart_burst_is_absorbed(tmp_path: Path) -> None:
    with MockOpenChoreo(BURST_SPEC) as mock:
        config = daemon_config(
            mock.url,
            tmp_path,
            {"openchoreo": {"events": {"enabled": True}, "schedule": {"frequency": 3600, "timeout": 300}}},
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            first = len(mock.stats.records)
            daemon.wait_for_run(after=0, timeout=300)
            sync_gets = len(mock.stats.records) - first
            synced = daemon.entity_names()
            events = restart_burst(mock, 10_000)
            distinct = len({json.dumps(e, sort_keys=True) for e in events})
            base = len(mock.stats.records)
            runs = len(full_runs(daemon))
            sender = threading.Thread(
                target=asyncio.run, args=(post_all(daemon.url + EVENTS_PATH, events),), daemon=True
            )
            started = time.monotonic()
            sender.start()
            limit = 1000

            def settled() -> bool:
                assert daemon.alive(), daemon.log_text()[-3000:]
                if single_gets(mock, base) > limit:
                    return True  # the burst is being re-fetched one by one: fail now, not in an hour
                return not sender.is_alive() and daemon.count("event burst absorbed") >= 1

            poll(settled, timeout=600, what="the burst to be absorbed")
            burst_seconds = time.monotonic() - started
            refetches = single_gets(mock, base)
            assert refetches <= limit, f"{refetches} single-object GETs for a {len(events)}-event restart burst"
            line = daemon.wait_for("event burst absorbed")
            poll(
                lambda: len(full_runs(daemon)) >= runs + line["full_syncs"],
                timeout=600,
                what=f"{line['full_syncs']} full sync(s) after the burst",
            )
            total = len(mock.stats.records) - base
            assert total <= line["full_syncs"] * sync_gets + 2 * limit, (total, sync_gets)
            assert synced <= daemon.entity_names()
            print(
                f"\nrestart burst: {len(events)} created events ({distinct} distinct objects) posted in "
                f"{burst_seconds:.1f} s; {refetches} single GETs, {line['full_syncs']} full sync(s) of "
                f"{sync_gets} GETs each, {total} upstream requests in all (one by one: >= {distinct})"
            )
        finally:
            assert daemon.stop() == 0
