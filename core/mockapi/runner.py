"""Run the mock API in a background thread (tests) or in the foreground (CLI).

``MockOpenChoreo`` binds 127.0.0.1 itself, so the URL (and the token issuer, which embeds
it) is known before uvicorn starts, and waits with a bounded poll until ``/health``
answers. It uses a uvicorn h11 protocol that exposes the raw transport to the fault layer,
which needs it to reset connections.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import threading
import time
from types import FrameType, TracebackType
from typing import Any

import httpx
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .auth import Auth
from .faults import Faults
from .generate import WorldSpec, build_world
from .scaffolder import showcase
from .server import create_app
from .state import MockState
from .stats import Stats
from .thunder import PREFIX as THUNDER_PREFIX
from .thunder import Directory
from .world import World


class _TransportH11(H11Protocol):
    """h11 protocol that puts the connection's transport into the ASGI scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # headers and body go out in separate writes: avoid Nagle's 40 ms stall
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        app = self.app

        async def with_transport(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "mock.transport": transport}, receive, send)

        self.app = with_transport


class MockOpenChoreo:
    """A running mock OpenChoreo API on 127.0.0.1.

    Use as a context manager. ``world``, ``faults``, ``stats`` and ``auth`` are live: change
    them at any time and the next request sees it.
    """

    def __init__(
        self,
        spec: WorldSpec | None = None,
        *,
        world: World | None = None,
        auth: bool = False,
        port: int = 0,
        token_lifetime: int = 3600,
        client_id: str = "openchoreo-catalog-sync",
        client_secret: str | None = None,
        latency_ms: int = 0,
        fault_seed: int = 0,
        directory: Directory | None = None,
    ) -> None:
        self.state = MockState(
            world=world if world is not None else build_world(spec),
            faults=Faults(fault_seed),
            auth=Auth(enabled=auth, client_id=client_id, token_lifetime=token_lifetime),
            directory=directory,
        )
        if client_secret is not None:
            self.state.auth.client_secret = client_secret
        self.state.faults.set_latency(latency_ms)
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- live state ------------------------------------------------------------------
    @property
    def world(self) -> World:
        return self.state.world

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def auth(self) -> Auth:
        return self.state.auth

    @property
    def url(self) -> str:
        return self.state.base_url

    @property
    def directory(self) -> Directory:
        """The Thunder-like user directory (``thunder.baseUrl`` is :attr:`thunder_url`)."""
        assert self.state.directory is not None
        return self.state.directory

    @property
    def thunder_url(self) -> str:
        return self.url + THUNDER_PREFIX

    @property
    def client_id(self) -> str:
        return self.state.auth.client_id

    @property
    def client_secret(self) -> str:
        return self.state.auth.client_secret

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/token"

    def add_webhook(self, url: str, token: str | None = None) -> None:
        """POST an event to ``url`` on every world mutation from now on."""
        self.state.events.add_webhook(url, token)

    def add_scaffolder_showcase(self, namespace: str = "default") -> None:
        """Put the types that exercise Template generation into the world (see ``scaffolder.showcase``):
        two with a hand-written template served by this mock, one whose ``/schema`` fails."""
        for collection, ns, body in showcase(self.url, namespace):
            self.world.put(collection, ns, body)

    def token(self) -> str:
        """Fetch a fresh access token the way a client would (client_secret_post)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        resp = httpx.post(self.token_url, data=form, timeout=10)
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> MockOpenChoreo:
        """Bind, serve in a daemon thread, and return once /health answers."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        sock.listen(128)
        self._sock = sock
        port = sock.getsockname()[1]
        self.state.base_url = f"http://127.0.0.1:{port}"
        self.state.auth.issuer = self.state.base_url
        config = uvicorn.Config(
            create_app(self.state),
            http=_TransportH11,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"mockapi-{port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                        self.stats.reset()
                        return self
                except httpx.HTTPError:
                    pass
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)  # bounded poll interval, not a wait-for-state sleep
        self.stop()
        raise RuntimeError(f"mock OpenChoreo API did not start on {self.url}")

    def stop(self) -> None:
        """Shut uvicorn down and join its thread; idempotent."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.state.events.close()
        self._server = None

    def __enter__(self) -> MockOpenChoreo:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_from_args(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or until ``stop`` is set); returns the exit code."""
    spec = WorldSpec(seed=args.seed, namespaces=args.namespaces, projects=args.projects, components=args.components)
    mock = MockOpenChoreo(
        spec,
        auth=args.auth,
        port=args.port,
        token_lifetime=args.token_lifetime,
        client_id=args.client_id,
        client_secret=args.client_secret,
        latency_ms=args.latency_ms,
    )
    mock.directory.token = getattr(args, "thunder_token", None)
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def _handle(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _handle)
    try:
        mock.start()
    except (OSError, RuntimeError) as exc:
        print(f"mock-api: cannot start: {exc}", flush=True)
        return 1
    try:
        print(f"Mock OpenChoreo API serving at {mock.url}", flush=True)
        print(f"Thunder directory: {mock.thunder_url} (thunder.baseUrl)", flush=True)
        if args.auth:
            print(f"Token URL:     {mock.token_url}", flush=True)
            print(f"Client ID:     {mock.client_id}", flush=True)
            print(f"Client secret: {mock.client_secret}", flush=True)
        else:
            print("Authentication: off (any or no Authorization header is accepted)", flush=True)
        stop.wait()
    finally:
        mock.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
