"""Run a real Backstage backend (catalog plugin only) for end-to-end tests.

The Node.js project lives in ``e2e/backstage`` (pinned versions, committed lock file). This module
installs it if needed (``e2e/backstage/install.sh``), starts ``node index.js`` with a per-instance
extra config (port, static token, catalog rules), waits until the catalog answers, and stops the
process again::

    with BackstageBackend(allow_kinds=["Component", "System", "API", "Location"]) as bs:
        loc = bs.register_location("http://127.0.0.1:8000/catalog.yaml")
        bs.wait_for(lambda: bs.entity_by_name("component", "default", "cart"), 30, "component cart")

Everything here is bounded: installation, startup, polling and shutdown all have timeouts and fail
with the tail of the process log.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKSTAGE_DIR = REPO_ROOT / "e2e" / "backstage"
INSTALL_SCRIPT = BACKSTAGE_DIR / "install.sh"

DEFAULT_TOKEN = "e2e-static-token-0123456789"
#: Kinds a catalog without OpenChoreo processors understands (Template via the scaffolder module).
STANDARD_KINDS = ["Component", "API", "System", "Domain", "Resource", "Group", "User", "Location", "Template"]

INSTALL_TIMEOUT_S = 900.0
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.25

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_install_lock = threading.Lock()
_install_seconds: float | None = None

T = TypeVar("T")


class BackstageError(AssertionError):
    """The backend failed to install, start, answer as expected, or a wait timed out."""


def node_available() -> str | None:
    """None when ``node`` and ``npm`` are on PATH, otherwise a reason string (for pytest.skip)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH; the Backstage e2e tests need Node.js 20 and npm"
    return None


def ensure_installed(timeout: float = INSTALL_TIMEOUT_S) -> float:
    """Run ``e2e/backstage/install.sh`` once per process; return the seconds it took.

    The script itself only runs ``npm ci`` when node_modules is missing or older than the lock file,
    so this costs a fraction of a second when everything is installed already.
    """
    global _install_seconds
    with _install_lock:
        if _install_seconds is not None:
            return _install_seconds
        started = time.monotonic()
        try:
            result = subprocess.run(
                ["bash", str(INSTALL_SCRIPT)],
                cwd=BACKSTAGE_DIR,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BackstageError(f"{INSTALL_SCRIPT} did not finish within {timeout:.0f} s") from exc
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise BackstageError(f"{INSTALL_SCRIPT} failed with exit code {result.returncode}:\n{tail}")
        _install_seconds = time.monotonic() - started
        return _install_seconds


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def location_entity_ref(target_url: str, location_type: str = "url") -> str:
    """The ref of the Location entity Backstage generates for a location registered via the API."""
    digest = hashlib.sha1(f"{location_type}:{target_url}".encode()).hexdigest()
    return f"location:default/generated-{digest}"


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def relation_targets(entity: dict[str, Any] | None, relation_type: str) -> set[str]:
    """The ``targetRef``s of ``entity``'s relations of one type (empty set for None)."""
    if not entity:
        return set()
    return {r["targetRef"] for r in entity.get("relations", []) if r.get("type") == relation_type}


class BackstageBackend:
    """A real Backstage backend process on 127.0.0.1, as a context manager.

    Attributes after ``start()``/``__enter__``: ``port``, ``url``, ``token``, ``log_path``,
    ``install_seconds`` (time spent in install.sh by this process, 0-ish when already installed) and
    ``startup_seconds`` (process spawn until the catalog answered 200).
    """

    def __init__(
        self,
        port: int | None = None,
        token: str = DEFAULT_TOKEN,
        allow_kinds: list[str] | None = None,
        extra_config: dict[str, Any] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_S,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        if len(token) < 8 or any(ch.isspace() for ch in token):
            raise ValueError("Backstage static tokens need at least 8 characters and no whitespace")
        self.port = port if port is not None else free_port()
        self.token = token
        self.allow_kinds = list(allow_kinds) if allow_kinds is not None else None
        self.extra_config = extra_config or {}
        self.extra_env = dict(extra_env or {})
        self.startup_timeout = startup_timeout
        self.install_seconds: float | None = None
        self.startup_seconds: float | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._client: httpx.Client | None = None
        self.log_path: Path | None = None
        self.config_path: Path | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        """The per-instance config layered over e2e/backstage/app-config.yaml."""
        cfg: dict[str, Any] = {
            "backend": {
                "baseUrl": self.url,
                "listen": {"host": "127.0.0.1", "port": self.port},
                "auth": {
                    "externalAccess": [{"type": "static", "options": {"token": self.token, "subject": "e2e-tests"}}]
                },
            },
        }
        if self.allow_kinds is not None:
            cfg["catalog"] = {"rules": [{"allow": list(self.allow_kinds)}]}
        return _deep_merge(cfg, self.extra_config)

    def start(self) -> BackstageBackend:
        if self._proc is not None:
            raise BackstageError("backend already started")
        reason = node_available()
        if reason:
            raise BackstageError(reason)
        self.install_seconds = ensure_installed()

        self._tmpdir = tempfile.TemporaryDirectory(prefix="backstage-e2e-")
        tmp = Path(self._tmpdir.name)
        self.config_path = tmp / "app-config.e2e.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        self.log_path = tmp / "backstage.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()

        env = dict(os.environ)
        env["NODE_OPTIONS"] = ""  # do not inherit debugger/loader flags
        env["OPENCHOREO_E2E_PARENT_PID"] = str(os.getpid())  # index.js exits once this process is gone
        env.update(self.extra_env)
        started = time.monotonic()
        self._proc = subprocess.Popen(
            ["node", "index.js", "--config", "app-config.yaml", "--config", str(self.config_path)],
            cwd=BACKSTAGE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # own process group: signals reach node and nothing else
        )
        self._client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10.0)
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise BackstageError(f"Backstage exited with code {code} during startup; log tail:\n{self.log_tail()}")
            try:
                resp = self.request("GET", "/api/catalog/entities", params={"limit": 1})
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(POLL_INTERVAL_S)
        raise BackstageError(
            f"Backstage on {self.url} not ready within {self.startup_timeout:.0f} s (last: {last}); "
            f"log tail:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM the process group, SIGKILL after ``timeout`` s; return the exit code."""
        code = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait(timeout=timeout)
            code = proc.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the group we created with start_new_session, pgid == pid

    def cleanup(self) -> None:
        """Stop and remove the temp dir (config and log)."""
        self.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> BackstageBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------ logs
    def log_text(self) -> str:
        """The process log so far (stdout+stderr), ANSI colours stripped."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        if self._log_file is not None:
            self._log_file.flush()
        return _ANSI_RE.sub("", self.log_path.read_bytes().decode("utf-8", "replace"))

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # ------------------------------------------------------------------ HTTP
    def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """An authenticated request (static token) to ``path`` on this backend."""
        if self._client is None:
            raise BackstageError("backend not started")
        if json is not None:
            kwargs["json"] = json
        return self._client.request(method, path, **kwargs)

    def _expect(self, resp: httpx.Response, *codes: int) -> httpx.Response:
        if resp.status_code not in codes:
            raise BackstageError(
                f"{resp.request.method} {resp.request.url} answered {resp.status_code}, "
                f"expected {codes}: {resp.text[:500]}"
            )
        return resp

    def entities(self, filter: str | list[str] | None = None) -> list[dict[str, Any]]:
        """``GET /api/catalog/entities``; one filter string (commas = AND) or a list (= OR)."""
        params: list[tuple[str, str]] = []
        if isinstance(filter, str):
            params.append(("filter", filter))
        elif filter:
            params.extend(("filter", f) for f in filter)
        resp = self._expect(self.request("GET", "/api/catalog/entities", params=params), 200)
        return list(resp.json())

    def entity_by_name(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The entity, or None on 404."""
        resp = self.request("GET", f"/api/catalog/entities/by-name/{kind}/{namespace}/{name}")
        if resp.status_code == 404:
            return None
        return dict(self._expect(resp, 200).json())

    def locations(self) -> list[dict[str, Any]]:
        """Locations registered through the API: ``[{"id", "type", "target"}, ...]``."""
        resp = self._expect(self.request("GET", "/api/catalog/locations"), 200)
        return [item.get("data", item) for item in resp.json()]

    def register_location(self, target_url: str) -> dict[str, Any]:
        """Register a url location; idempotent.

        Returns ``{"location": {"id", "type", "target"}, "entities": [...], "entityRef": <location
        entity ref>}``. On 409 (already registered) the location is looked up among
        ``GET /api/catalog/locations`` and ``entities`` is empty.
        """
        resp = self.request("POST", "/api/catalog/locations", json={"type": "url", "target": target_url})
        if resp.status_code == 409:
            for loc in self.locations():
                if loc.get("type") == "url" and loc.get("target") == target_url:
                    body: dict[str, Any] = {"location": loc, "entities": []}
                    break
            else:
                raise BackstageError(f"409 for {target_url} but it is not among the locations: {resp.text}")
        else:
            body = dict(self._expect(resp, 201).json())
        body.setdefault("entityRef", location_entity_ref(target_url))
        return body

    def unregister_location(self, location_id: str) -> None:
        """``DELETE /api/catalog/locations/{id}``: its entities disappear at once."""
        self._expect(self.request("DELETE", f"/api/catalog/locations/{location_id}"), 204, 200)

    def refresh(self, entity_ref: str) -> None:
        """``POST /api/catalog/refresh``; for a location ref this re-reads its target."""
        self._expect(self.request("POST", "/api/catalog/refresh", json={"entityRef": entity_ref}), 200, 204)

    # ------------------------------------------------------------------ waiting
    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 60.0,
        what: str = "condition",
        interval: float = POLL_INTERVAL_S,
    ) -> T:
        """Poll ``predicate`` until it returns something truthy and return that value.

        Raises :class:`BackstageError` after ``timeout`` s (or at once if the process died) with
        ``what``, the last value or exception seen, and the log tail.
        """
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise BackstageError(
                    f"Backstage exited (code {self._proc.returncode}) while waiting for {what}; "
                    f"log tail:\n{self.log_tail()}"
                )
            try:
                value = predicate()
                if value:
                    return value
                last = value
            except (httpx.HTTPError, BackstageError, KeyError, LookupError) as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise BackstageError(
                    f"timed out after {timeout:.1f} s waiting for {what}; last result: {last!r}; "
                    f"log tail:\n{self.log_tail(30)}"
                )
            time.sleep(interval)
