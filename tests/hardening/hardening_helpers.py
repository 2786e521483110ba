"""Real processes for the hardening suite: the daemon as a subprocess, a fault-injecting HTTP proxy.

``DaemonProcess`` runs ``openchoreo-sync run`` with a YAML config and JSON logs in a file, and
reads its log events back; ``FaultProxy`` sits between the daemon and the mock OpenChoreo API and
rewrites answers per request (a whole namespace 404, lists suddenly empty, error bodies echoing
credentials), which the mock's own fault rules cannot express.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openchoreo_sync.testing.harness import deep_merge
from openchoreo_sync.testing.polling import poll

CLI = str(Path(sys.executable).parent / "openchoreo-sync")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daemon_config(base_url: str, state: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config = {
        "openchoreo": {
            "baseUrl": base_url,
            "features": {"auth": {"enabled": False}},
            "schedule": {"frequency": 1, "timeout": 30},
            "sqlite": {"path": str(state / "state.sqlite3")},
            "server": {"host": "127.0.0.1", "port": free_port()},
            "events": {"enabled": False},
            "client": {"timeout": 5, "retries": 1, "backoffBase": 0.01},
        }
    }
    return deep_merge(config, overrides or {})


@dataclass
class DaemonProcess:
    """One ``openchoreo-sync run`` subprocess; its JSON log lines are read back from a file."""

    config: dict[str, Any]
    workdir: Path
    prefix: Sequence[str] = ()
    """e.g. ``("prlimit", "--nofile=256:256")``"""
    process: subprocess.Popen[bytes] | None = None
    lifetimes: int = 0
    token: str | None = None
    _log_paths: list[Path] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.workdir / "app-config.yaml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config['openchoreo']['server']['port']}"

    def start(self) -> DaemonProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config))
        self.lifetimes += 1
        log_path = self.workdir / f"daemon-{self.lifetimes}.log"
        self._log_paths.append(log_path)
        with log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                [*self.prefix, CLI, "run", "--config", str(self.config_path), "--log-format", "json"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        poll(lambda: self.get("/healthz") is not None or not self.alive(), timeout=30, what="the daemon to serve")
        assert self.alive(), self.log_text()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any) -> httpx.Response | None:
        try:
            return httpx.get(self.url + path, params=params, headers=self.headers(), timeout=10)
        except httpx.HTTPError:
            return None

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self._log_paths if p.exists())

    def events(self, lifetime: int | None = None) -> list[dict[str, Any]]:
        paths = self._log_paths if lifetime is None else [self._log_paths[lifetime - 1]]
        out: list[dict[str, Any]] = []
        for path in paths:
            if not path.exists():
                continue
            for raw in path.read_text(errors="replace").splitlines():
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    line = {"event": raw}
                out.append(line if isinstance(line, dict) else {"event": raw})
        return out

    def runs(self) -> list[dict[str, Any]]:
        """Every run record in the SQLite store, oldest first: ``{run_id, status, summary}``.

        Read from the store, not the log: a failure that repeats run after run is logged once
        (issue 18's quiet logs), but every run is recorded.
        """
        path = Path(self.config["openchoreo"]["sqlite"]["path"])
        if not path.exists():
            return []
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("SELECT run_id, status, summary FROM runs ORDER BY started_at").fetchall()
        except sqlite3.Error:
            return []
        finally:
            conn.close()
        return [{"run_id": r[0], "status": r[1], "summary": json.loads(r[2])} for r in rows]

    def finished_runs(self) -> list[dict[str, Any]]:
        """Runs that committed (a snapshot was written: ok, partial, unchanged)."""
        return [r for r in self.runs() if r["status"] in ("ok", "partial", "unchanged")]

    def wait_for_run(self, *, after: int, timeout: float = 60) -> dict[str, Any]:
        """The committed run number ``after + 1`` (0-based ``after``)."""

        def found() -> dict[str, Any] | None:
            assert self.alive(), "the daemon died:\n" + self.log_text()[-4000:]
            runs = self.finished_runs()
            return runs[after] if len(runs) > after else None

        return poll(found, timeout=timeout, what=f"committed run #{after + 1}")

    def count(self, event: str) -> int:
        return sum(1 for e in self.events() if event in str(e.get("event", "")))

    def wait_for(self, event: str, *, after: int = 0, timeout: float = 60) -> dict[str, Any]:
        """The first log event containing ``event`` beyond the first ``after`` such events."""

        def found() -> dict[str, Any] | None:
            assert self.alive(), "the daemon died:\n" + self.log_text()[-4000:]
            matches = [e for e in self.events() if event in str(e.get("event", ""))]
            return matches[after] if len(matches) > after else None

        return poll(found, timeout=timeout, what=f"log event {event!r} #{after + 1}")

    def entity_names(self) -> set[str]:
        response = self.get("/api/catalog/entities", fields="kind,metadata.name,metadata.namespace")
        assert response is not None and response.status_code == 200, response and response.text
        return {f"{e['kind']}:{e['metadata'].get('namespace')}/{e['metadata']['name']}" for e in response.json()}

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args, "--config", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


STALE = "openchoreo-sync.io/stale-since"


def stale_names(daemon: DaemonProcess) -> set[str]:
    """``Kind:namespace/name`` of every entity the daemon's catalog API serves marked stale."""
    response = daemon.get("/api/catalog/entities")
    assert response is not None and response.status_code == 200
    return {
        f"{e['kind']}:{e['metadata'].get('namespace')}/{e['metadata']['name']}"
        for e in response.json()
        if STALE in (e["metadata"].get("annotations") or {})
    }


Rewrite = Callable[[Request, httpx.Response | None], Awaitable[Response | None]]
"""Given the request (and the upstream answer, when ``forward`` ran), a replacement or None."""


class FaultProxy:
    """An HTTP proxy to ``upstream`` on 127.0.0.1 whose answers a test rewrites while it runs.

    ``before`` may answer a request without forwarding it (None forwards); ``after`` may replace
    the upstream's answer. Both are plain attributes, swapped by the test between runs.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.before: Callable[[Request], Awaitable[Response | None]] | None = None
        self.after: Callable[[Request, httpx.Response], Awaitable[Response | None]] | None = None
        self.requests = 0
        self._client: httpx.AsyncClient | None = None
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])])
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        poll(lambda: self._server.started, timeout=10, what="the fault proxy to start")
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    async def _handle(self, request: Request) -> Response:
        self.requests += 1
        if self.before is not None and (answer := await self.before(request)) is not None:
            return answer
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        upstream = await self._client.request(
            request.method,
            self.upstream + request.url.path,
            params=list(request.query_params.multi_items()),
            headers=headers,
            content=await request.body(),
        )
        if self.after is not None and (answer := await self.after(request, upstream)) is not None:
            return answer
        kept = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "retry-after")}
        return Response(upstream.content, status_code=upstream.status_code, headers=kept)


def json_answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


class TcpProxy:
    """A TCP relay on 127.0.0.1 to ``target`` (PostgreSQL) that a test can cut and restore.

    Cut: every relayed connection is closed and new ones are closed as soon as they are accepted,
    which is what a database host that went away (or a partition) looks like to the client.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut = False
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(None)
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def sever(self) -> None:
        self.cut = True
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.cut = False

    def close(self) -> None:
        self._closed = True
        self.sever()
        self._listener.close()
