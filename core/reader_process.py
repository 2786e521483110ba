"""One reader process: serves the replica-safe read routes on the daemon's public socket.

Started by :class:`openchoreo_sync.readers.ReaderPool` as ``python -m openchoreo_sync.reader_process``
with the public listening socket inherited (``pass_fds``) and a :class:`ReaderSpec` pickled on its
standard input. It

* opens the state store for reading only (SQLite ``mode=ro``: a WAL reader never waits for the
  daemon's writer, and never migrates nor writes; PostgreSQL: plain reads, no election);
* loads the plugins, calls their ``http_routes`` against that store and keeps the routes marked
  :func:`~openchoreo_sync.server.replica_safe` (a plugin whose hook fails here only loses its
  local routes: they are forwarded instead);
* serves them on the shared socket with the same token check, body, header and connection bounds
  as the daemon, forwarding every other request to the daemon over its private unix socket
  (:class:`~openchoreo_sync.forward.Forward`);
* runs on uvloop with uvicorn's httptools parser when those are installed.

It stops on SIGTERM, or when its standard input closes (the daemon is gone), ignoring SIGINT so a
Ctrl-C in a terminal stops the daemon first, which then stops its readers in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import AppConfig
from .store.sqlite import SqliteStore

READY_LINE = "reader-ready"


@dataclass(frozen=True)
class ReaderSpec:
    config: AppConfig
    fd: int
    """The public listening socket's descriptor, inherited from the daemon."""
    upstream: str
    """The daemon's private unix socket."""
    index: int
    log_level: str = "info"
    log_format: str = "auto"


class ReaderSqliteStore(SqliteStore):
    """A SQLite store opened for reads only, that never sticks to a frozen view of the file.

    Read-only SQLite connections are ``mode=ro`` (they see every commit); only when the WAL's
    ``-shm`` file cannot be created (a full disk) does the store fall back to ``immutable``, which
    reads the main file as it is and never notices a change. The daemon's own process reopens
    normally once it can write again; a reader has no such moment, so while it holds an immutable
    view it retries ``mode=ro`` at most every ``RETRY_SECONDS`` (each thread then reconnects).
    """

    RETRY_SECONDS = 1.0

    def __init__(self, path: Path, busy_timeout: float) -> None:
        super().__init__(path, busy_timeout)
        self.read_only_reason = "a reader process serves reads only"
        self._frozen_since: float | None = None

    def _connect_read_only(self) -> sqlite3.Connection:
        """As :meth:`SqliteStore._connect_read_only`, noting when the view it gives is frozen."""
        shared = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=True)
        try:
            shared.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
            self._frozen_since = None
            return shared
        except sqlite3.Error:
            shared.close()
        self._frozen_since = time.monotonic()
        uri = f"file:{self.path}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=True)

    def _conn(self) -> Any:
        frozen = self._frozen_since
        if frozen is not None and time.monotonic() - frozen > self.RETRY_SECONDS:
            with self._mode_lock:
                self._frozen_since = None
                self._generation += 1
        return super()._conn()


def open_read_store(config: AppConfig) -> Any:
    """The store the config names, for reads only: never created, migrated or written from here."""
    oc = config.openchoreo
    if oc.store == "postgres" and oc.postgres.dsn is not None:
        from .store.postgres import PostgresStore

        return PostgresStore(oc.postgres.dsn.get_secret_value(), lease_seconds=oc.postgres.lease_seconds)
    return ReaderSqliteStore(oc.sqlite.path, oc.sqlite.busy_timeout)


def replica_routes(plugins: Any, ctx: Any, log: Any) -> list[tuple[str, Sequence[Any]]]:
    """Each plugin's replica-safe routes, built against this process's read-only store."""
    from .server import is_replica_safe

    out: list[tuple[str, Sequence[Any]]] = []
    for routes in plugins.each("http_routes"):
        try:
            contributed = list(routes(ctx=ctx) or [])
        except Exception as exc:  # its routes are forwarded to the daemon instead
            log.warning("a plugin's routes are not served by the reader", plugin=routes.plugin, error=repr(exc))
            continue
        safe = [route for route in contributed if is_replica_safe(route)]
        if safe:
            out.append((routes.plugin, safe))
    return out


async def serve(spec: ReaderSpec, stop: asyncio.Event) -> None:
    from .context import Services, SyncContext
    from .forward import Forward
    from .logs import get_logger
    from .plugins_manager import load_plugins
    from .runtime import register_config_secrets
    from .server import HttpServer, build_app

    config = spec.config
    register_config_secrets(config)
    log = get_logger("openchoreo_sync.reader").bind(reader=spec.index)
    store = open_read_store(config)
    plugins = load_plugins(config)
    services = Services(catalog=store, sync_status=store, enabled_kinds=plugins.enabled_kinds(), reader_process=True)
    ctx = SyncContext(f"reader-{spec.index}", config, log, plugins.settings, services=services)
    forward = Forward(spec.upstream)
    server = config.openchoreo.server
    token = server.token.get_secret_value() if server.token else None
    app = build_app(
        replica_routes(plugins, ctx, log),
        token=lambda: token,
        ready=lambda: True,
        body_timeout=server.body_timeout,
        max_body_bytes=server.max_body_bytes,
        fallback=forward,
    )
    sock = socket.socket(fileno=spec.fd)
    http = HttpServer(
        app,
        server.host,
        0,
        header_timeout=server.header_timeout,
        max_connections=server.max_connections,
        sock=sock,
        fast=True,
    )
    await http.start()
    print(READY_LINE, flush=True)
    try:
        await stop.wait()
    finally:
        await http.stop()
        await forward.aclose()
        with contextlib.suppress(Exception):
            store.close()


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when the daemon's end of our standard input closes (it exited, however it exited)."""
    with contextlib.suppress(Exception):  # raw reads: a buffered reader's lock would hang shutdown
        while os.read(0, 65536):
            pass
    with contextlib.suppress(RuntimeError):  # the loop already closed
        loop.call_soon_threadsafe(stop.set)


async def _main(spec: ReaderSpec) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    threading.Thread(target=_watch_stdin, args=(loop, stop), daemon=True).start()
    await serve(spec, stop)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec: ReaderSpec = pickle.load(sys.stdin.buffer)
    from .logs import configure_logging, get_logger

    configure_logging(spec.log_format, spec.log_level)
    slice_ms = spec.config.openchoreo.server.reader_slice_ms
    if slice_ms is not None:  # on this, the event loop's thread: the requests are served there
        from .sched_slice import request_slice

        refused = request_slice(slice_ms)
        log = get_logger("openchoreo_sync.reader").bind(reader=spec.index)
        if refused is None:
            log.debug("reader time slice set", milliseconds=slice_ms)
        elif "reader_slice_ms" in spec.config.openchoreo.server.model_fields_set:
            log.info("reader time slice left at the kernel's default", reason=refused)
        else:  # the default asked on a kernel without custom slices: nothing the operator chose was refused
            log.debug("reader time slice left at the kernel's default", reason=refused)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop not installed: asyncio's own loop
        asyncio.run(_main(spec))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_main(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
