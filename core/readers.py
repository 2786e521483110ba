"""Reader processes: the daemon's public port, served off the process that runs the syncs.

Why: the engine maps, relates and reconciles on the daemon's event loop, and its commit holds the
interpreter lock while it flattens and serialises; a read answered by that process waits for all
of it (by-name p99 rose from 5 ms to 133 ms during a sync). With ``openchoreo.server.readProcesses``
set to N > 0 the daemon

* binds the public ``host:port`` itself and hands the listening socket to N reader processes
  (:mod:`openchoreo_sync.reader_process`), which all accept on it (the kernel spreads the
  connections); they answer the replica-safe read routes from the store, opened read-only;
* serves its own app on a private unix socket in a directory only it can enter; readers forward
  every other request there, so the events webhook, ``/metrics``, the probes, the sync API and the
  web UI behave exactly as without readers;
* restarts a reader that exits (backing off while one keeps failing within seconds of its start)
  and reports it on ``/readyz`` (``degraded.readers``) meanwhile; a reader never takes the daemon
  down, and the daemon's stop ends its readers (SIGTERM, then SIGKILL after 5 s; a reader whose
  standard input closes stops by itself, so none outlives a daemon that was killed).

Each reader holds its own store connections, so the read API scales with processes on SQLite
(WAL readers never wait for the writer) and on PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from .config import AppConfig
from .logs import configured_level
from .reader_process import READY_LINE, ReaderSpec

START_TIMEOUT = 60.0
"""How long the daemon's start waits for each reader's first start before going on without it."""
STOP_GRACE = 5.0
STABLE_AFTER = 10.0
"""A reader that ran this long before exiting is restarted at once; one that dies sooner backs off."""
MAX_BACKOFF = 10.0


class ReaderPool:
    """N reader processes on one public socket, kept running until :meth:`stop`."""

    def __init__(self, config: AppConfig, count: int, sock: socket.socket, upstream: str, *, log: Any = None) -> None:
        self.config = config
        self.count = count
        self.sock = sock
        self.upstream = upstream
        self.log = log or structlog.get_logger("openchoreo_sync.readers")
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.restarts = 0
        self._serving: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    # --- what /readyz shows --------------------------------------------------------------------

    def degraded(self) -> str | None:
        """Why not every reader is serving right now, or None."""
        if len(self._serving) >= self.count:
            return None
        return f"{len(self._serving)} of {self.count} reader processes serving (a stopped one is being restarted)"

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every reader; waits (bounded) until each serves or has failed its first start."""
        first: list[asyncio.Future[None]] = []
        for index in range(self.count):
            started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            first.append(started)
            self._tasks.append(asyncio.create_task(self._keep(index, started)))
        done, _ = await asyncio.wait(first, timeout=START_TIMEOUT)
        if len(done) < len(first):
            self.log.error("reader processes did not start in time; the daemon goes on, restarting them")

    async def stop(self) -> None:
        self._stopping.set()
        for proc in list(self.processes.values()):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in list(self.processes.values()):
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        fd = self.sock.fileno()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "openchoreo_sync.reader_process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(fd,),
        )
        spec = ReaderSpec(self.config, fd, self.upstream, index, log_level=configured_level())
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps(spec))
        await proc.stdin.drain()  # stdin stays open: its end is the reader's signal that we are gone
        return proc

    async def _ready(self, proc: asyncio.subprocess.Process) -> bool:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            if line.decode(errors="replace").strip() == READY_LINE:
                return True
        return False

    async def _drain(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while await proc.stdout.read(65536):
            pass

    async def _keep(self, index: int, started: asyncio.Future[None]) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                proc = await self._spawn(index)
            except OSError as exc:
                self.log.error("cannot start a reader process", reader=index, error=str(exc))
                proc = None
            if proc is not None:
                self.processes[index] = proc
                try:
                    if await asyncio.wait_for(self._ready(proc), START_TIMEOUT):
                        self._serving.add(index)
                        self.log.info("reader process serving", reader=index, pid=proc.pid)
                except TimeoutError:
                    self.log.error("a reader process did not start in time; restarting it", reader=index)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                if not started.done():
                    started.set_result(None)
                await asyncio.gather(self._drain(proc), proc.wait())
                self._serving.discard(index)
                self.processes.pop(index, None)
                if self._stopping.is_set():
                    return
                self.restarts += 1
                self.log.error("a reader process exited; restarting it", reader=index, code=proc.returncode)
            elif not started.done():
                started.set_result(None)
            backoff = 0.5 if time.monotonic() - began > STABLE_AFTER else min(backoff * 2, MAX_BACKOFF)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)


class PrivateSocket:
    """A unix socket path in a fresh directory only this user can enter; removed by :meth:`remove`."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="openchoreo-sync-"))
        os.chmod(self.directory, 0o700)
        self.path = str(self.directory / "daemon.sock")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
