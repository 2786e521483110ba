"""Issue 13, item 5: upstream error bodies that echo the client secret and the bearer token.

A fault proxy between the daemon (a subprocess, auth on) and the mock answers one collection, and
later every API path, with a 500 whose JSON body quotes the request's ``Authorization`` header (a
real JWT the mock issued) and the client secret, as a misconfigured gateway or a debugging
backend does. Neither may reach the log, the run records in the state database, ``status``,
``status --json`` or ``check --probe``; the daemon keeps every entity (the collection is carried).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from hardening_helpers import DaemonProcess, FaultProxy, daemon_config, json_answer
from starlette.requests import Request
from starlette.responses import Response

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.polling import poll

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def test_echoed_credentials_never_leave_the_process(tmp_path: Path, canaries: dict[str, str]) -> None:
    secret = canaries["client_secret"]
    spec = WorldSpec(seed=4, namespaces=1, projects=1, components=2, example=False)
    with MockOpenChoreo(spec, auth=True, client_secret=secret) as mock, FaultProxy(mock.url) as proxy:
        namespace = mock.world.namespaces()[0]
        seen_tokens: set[str] = set()
        echo_path = [re.compile(rf"^/api/v1/namespaces/{namespace}/environments$")]

        async def echo(request: Request) -> Response | None:
            header = request.headers.get("authorization", "")
            if header:
                seen_tokens.add(header.removeprefix("Bearer "))
            if not echo_path[0].search(request.url.path):
                return None
            detail = f"upstream rejected {header!r} for client_secret={secret}"
            return json_answer(
                {"error": detail, "code": "INTERNAL", "request": {"headers": {"Authorization": header}}}, 500
            )

        proxy.before = echo
        config = daemon_config(
            proxy.url,
            tmp_path,
            {
                "openchoreo": {
                    "features": {"auth": {"enabled": True}},
                    "auth": {
                        "clientId": mock.client_id,
                        "clientSecret": secret,
                        "tokenUrl": mock.token_url,
                    },
                    "client": {"retries": 0},
                }
            },
        )
        daemon = DaemonProcess(config, tmp_path / "daemon").start()
        try:
            poll(lambda: len(daemon.finished_runs()) >= 2, timeout=60, what="two runs through the echoing proxy")
            assert daemon.finished_runs()[-1]["status"] == "partial"
            assert daemon.finished_runs()[-1]["summary"]["failed_collections"]
            assert daemon.entity_names(), "the catalog must be served"
            status_text = daemon.cli("status")
            status_json = daemon.cli("status", "--json")
            echo_path[0] = re.compile(r"^/api/")
            probe = daemon.cli("check", "--probe")
        finally:
            daemon.stop()

        assert seen_tokens, "the daemon must have sent bearer tokens through the proxy"
        records = sqlite3.connect(tmp_path / "state.sqlite3").execute("SELECT summary FROM runs").fetchall()
        stored = "\n".join(row[0] for row in records)
        outputs = {
            "log": daemon.log_text(),
            "run records": stored,
            "status": status_text.stdout + status_text.stderr,
            "status --json": status_json.stdout + status_json.stderr,
            "check --probe": probe.stdout + probe.stderr,
        }
        assert "environments" in stored and "500" in stored, "the failure itself must still be recorded"
        assert json.loads(status_json.stdout), status_json.stderr
        assert "FAIL" in probe.stdout, probe.stdout
        for where, text in outputs.items():
            assert secret not in text, f"the client secret leaked into {where}"
            for token in seen_tokens:
                assert token not in text, f"a bearer token leaked into {where}"
                assert token[:40] not in text, f"a prefix of a bearer token leaked into {where}"
            assert not JWT.search(text), f"a JWT leaked into {where}: {JWT.search(text)}"
