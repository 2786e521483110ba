"""Helpers of the client tests: configs for the mock API, a fake clock, recorded sleeps, and a
tiny server of our own for what the mock cannot send (chunked bodies, TLS)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from openchoreo_sync.config import OpenChoreoConfig
from openchoreo_sync.mockapi import MockOpenChoreo


def make_config(
    url: str,
    *,
    mock: MockOpenChoreo | None = None,
    auth: bool = False,
    secret: str | None = None,
    **client: Any,
) -> OpenChoreoConfig:
    """An ``openchoreo`` config for ``url``; with ``auth`` the mock's credentials are used."""
    data: dict[str, Any] = {"base_url": url, "client": client, "features": {"auth": {"enabled": auth}}}
    if auth and mock is not None:
        data["auth"] = {
            "client_id": mock.client_id,
            "client_secret": secret if secret is not None else mock.client_secret,
            "token_url": mock.token_url,
        }
    return OpenChoreoConfig.model_validate(data)


class FakeClock:
    """Wall-clock stand-in shared by the client and the mock IdP, advanced by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps:
    """Records requested backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@contextmanager
def serve(app: ASGIApp, *, certfile: Path | None = None, keyfile: Path | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields the base URL (http or https)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        threading.Event().wait(0.01)  # bounded poll for the start flag
    try:
        yield f"{'https' if certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
