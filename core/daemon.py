"""The daemon: schedule runs, serve HTTP, stop cleanly on SIGTERM/SIGINT.

A run starts at start-up and then every ``frequency`` seconds, measured start to start; runs never
overlap (a long run delays the next one); a run past ``timeout`` is cancelled by the engine. With
a shared PostgreSQL store only the replica holding the leader lock runs syncs; every replica serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from .build import describe_error
from .client.stats import ClientStats
from .config import AppConfig
from .context import ApiClient, SyncContext
from .engine import ClientFactory, Engine
from .errors import ConfigError, PluginError, StoreError
from .events import EventIngress
from .logs import HeldLines, configured_level, holding_lines
from .memory import release_free_memory
from .metrics import SyncMetrics
from .plugins_manager import LoadedPlugins
from .quiet import RepeatedFailureLog
from .readers import PrivateSocket, ReaderPool
from .run_records import RunResult, new_run_id
from .server import HttpServer, build_app, is_replica_safe, listening_socket, public
from .snapshot import ChangeSet
from .store.base import RunRecord, StateStore
from .store.sql import utcnow

READ_PROBE_SECONDS = 2.0
"""How long /readyz waits for the store to answer one read before it reports reads as failing."""


def reader_count(configured: int | None, contributed: list[tuple[str, list[Any]]]) -> int:
    """``openchoreo.server.readProcesses``, or by default one reader when some route can use it."""
    if configured is not None:
        return configured
    return 1 if any(is_replica_safe(route) for _plugin, routes in contributed for route in routes) else 0


@dataclass
class DaemonState:
    ready: bool = False
    runs: int = 0
    last: RunResult | None = None
    leading: bool = False
    degraded: dict[str, str] = field(default_factory=dict)
    """what does not work right now and why (``store``, ``leader``, ``sync``); /readyz shows it"""


async def call_lifecycle(plugins: LoadedPlugins, hook_name: str, ctx: SyncContext) -> None:
    """Call every plugin's ``on_startup`` / ``on_shutdown``; a failure names the plugin."""
    for implementation in plugins.each(hook_name):
        try:
            result = implementation(ctx=ctx)
            if inspect.isawaitable(result):
                await result
        except ConfigError:
            raise  # already names the key to change
        except Exception as exc:
            raise PluginError(f"plugin {implementation.plugin!r} failed in {hook_name}: {describe_error(exc)}") from exc


class Daemon:
    def __init__(
        self,
        config: AppConfig,
        plugins: LoadedPlugins,
        store: StateStore,
        engine: Engine,
        *,
        serve_http: bool = True,
        log: Any = None,
    ) -> None:
        self.config = config
        self.plugins = plugins
        self.store = store
        self.engine = engine
        self.serve_http = serve_http
        self.log = log or structlog.get_logger("openchoreo_sync.daemon")
        self.state = DaemonState()
        self.stop_event = asyncio.Event()
        self.wake_event = asyncio.Event()
        self.http: HttpServer | None = None
        self.readers: ReaderPool | None = None
        self._private: PrivateSocket | None = None
        self.events: EventIngress | None = None
        self.ctx = engine.context("daemon")
        self.quiet = RepeatedFailureLog(
            self.log,
            repeat_every=config.openchoreo.logging.repeat_every,
            base_url=config.openchoreo.base_url,
            hold_first=configured_level() != "debug",
        )
        self.metrics = SyncMetrics(store)
        self.metrics.watch_flag("ready", lambda: self.state.ready)
        self.metrics.watch_flag("leader", lambda: self.state.leading)
        engine.client_factory = self._observed_clients(engine.client_factory)

    def _observed_clients(self, make: ClientFactory) -> ClientFactory:
        """The engine's client factory, handing each client's request counters to the metrics on close."""

        @contextlib.asynccontextmanager
        async def observed() -> AsyncIterator[ApiClient]:
            async with make() as client:
                try:
                    yield client
                finally:
                    stats = getattr(client, "stats", None)
                    if isinstance(stats, ClientStats):
                        self.metrics.observe_client(stats)

        return observed

    def request_run(self) -> None:
        """Ask for a full sync as soon as possible (used by the events queue on overflow)."""
        self.wake_event.set()

    def _ready(self) -> bool:
        return self.state.ready

    async def health(self) -> dict[str, str]:
        """What is degraded right now, the store's readability probed live (bounded) for /readyz."""
        degraded = dict(self.state.degraded)
        if self.readers is not None and (readers := self.readers.degraded()):
            degraded["readers"] = readers
        try:
            async with asyncio.timeout(READ_PROBE_SECONDS):
                await asyncio.to_thread(self.store.snapshot_version)
        except TimeoutError:
            degraded["store_reads"] = f"the state store did not answer a read within {READ_PROBE_SECONDS:g} s"
        except Exception as exc:
            degraded["store_reads"] = describe_error(exc)
        return degraded

    async def start(self) -> None:
        if self.store.snapshot_version() is not None:
            self.state.ready = True  # serve the stored snapshot at once, before the first new run
        if health := self.store.health():  # e.g. opened read-only on a full disk
            self.state.degraded["store"] = health
        await call_lifecycle(self.plugins, "on_startup", self.ctx)
        if self.serve_http:
            server = self.config.openchoreo.server
            contributed = [
                (routes.plugin, list(routes(ctx=self.ctx) or [])) for routes in self.plugins.each("http_routes")
            ]
            if self.config.openchoreo.events.enabled:
                events = self.events = EventIngress(self.engine, self.request_run)
                events.start()
                self.engine.services.event_queue = events
                contributed.append(("events", events.routes()))
                self.metrics.watch_events(lambda: (events.stats, len(events.pending)))
            metrics_route = self.metrics.route()
            contributed.append(("metrics", [metrics_route if server.metrics_token else public(metrics_route)]))
            token = server.token.get_secret_value() if server.token else None
            app = build_app(
                contributed,
                token=lambda: token,
                ready=self._ready,
                health=self.health,
                body_timeout=server.body_timeout,
                max_body_bytes=server.max_body_bytes,
            )
            readers = reader_count(server.read_processes, contributed)
            if readers > 0:
                await self._serve_with_readers(app, readers)
            else:
                self.http = self._http_server(app)
                await self.http.start()
            assert self.http is not None
            self.engine.services.server_url = self.http.url
            self.log.info("serving", url=self.http.url, read_processes=readers)

    def _http_server(self, app: Any, uds: str | None = None) -> HttpServer:
        """The daemon's own server, with the configured bounds: on the public port, or (behind
        reader processes) on a private unix socket."""
        server = self.config.openchoreo.server
        return HttpServer(
            app,
            server.host,
            server.port,
            header_timeout=server.header_timeout,
            max_connections=server.max_connections,
            uds=uds,
        )

    async def _serve_with_readers(self, app: Any, count: int) -> None:
        """The public port owned by reader processes, this app on a private socket behind them."""
        server = self.config.openchoreo.server
        sock = listening_socket(server.host, server.port)
        try:
            self._private = PrivateSocket()
            self.http = self._http_server(app, uds=self._private.path)
            self.http.public = (server.host, int(sock.getsockname()[1]))
            await self.http.start()
            self.readers = ReaderPool(self.config, count, sock, self._private.path)
            await self.readers.start()
        except BaseException:
            sock.close()
            raise

    async def stop(self) -> None:
        if self.events is not None:
            await self.events.stop()
        if self.readers is not None:
            await self.readers.stop()
            self.readers.sock.close()
        if self.http is not None:
            await self.http.stop()
        if self._private is not None:
            self._private.remove()
        with contextlib.suppress(Exception):
            await call_lifecycle(self.plugins, "on_shutdown", self.ctx)

    async def run_once(self, trigger: str = "schedule", *, keep_entities: bool = False) -> RunResult:
        """One run; a store that cannot be read or written fails the run, never the daemon.

        The result holds the run's entities only with ``keep_entities`` (tests look at them): the
        daemon keeps the outcome alone, and a run that returns no entities ends sooner
        (``Engine.run``)."""
        started = time.monotonic()
        run_id = new_run_id()
        held: HeldLines | None = None
        try:
            if self.quiet.holding:  # the last run failed: hold this one's lines until we know it differs
                with holding_lines() as held:
                    result = await self.engine.run(trigger=trigger, run_id=run_id, keep_entities=keep_entities)
            else:
                result = await self.engine.run(trigger=trigger, run_id=run_id, keep_entities=keep_entities)
        except StoreError as exc:
            self.quiet.abandon(held)
            self.metrics.store_errors.inc()
            result = await self._store_failed(run_id, trigger, exc)
        except Exception:
            self.quiet.abandon(held)
            self.metrics.observe_run("error", {}, time.monotonic() - started)
            raise
        if result.summary.get("store_error"):
            self.metrics.observe_run("error", {}, time.monotonic() - started)
        else:
            self.metrics.observe_run(result.status, result.summary, time.monotonic() - started)
            self.quiet.settle(result.run_id, result.status, result.summary, held)
        health = result.summary.get("store_error") or await asyncio.to_thread(self.store.health)
        if health:
            self.state.degraded["store"] = str(health)
        else:
            self.state.degraded.pop("store", None)
        self.state.runs += 1
        # Keep the outcome, not the run's entities nor its lists of changed refs: they live in the
        # store, and tens of thousands of surviving ref strings would pin the allocator's arenas
        # (so the run's whole memory) until the next run. The summary keeps counts and a sample.
        self.state.last = RunResult(result.run_id, result.status, summary=result.summary)
        if not self.state.ready:  # ready once any snapshot is committed, by this run or an earlier one
            with contextlib.suppress(StoreError):
                self.state.ready = await asyncio.to_thread(self.store.snapshot_version) is not None
        return result

    async def _store_failed(self, run_id: str, trigger: str, exc: StoreError) -> RunResult:
        """The run's outcome when the store failed it: recorded if the store still takes that much."""
        record = RunRecord(run_id=run_id, started_at=utcnow(), trigger=trigger, status="failed")
        record.finished_at = record.started_at
        record.summary = {
            "error": f"the state store failed, so nothing was committed: {exc}; "
            "the last committed catalog is unchanged and still served",
            "store_error": str(exc),
            "counts": {},
            "changes": ChangeSet().summary(),
            "failed_collections": {},
            "failed_families": {},
        }
        self.log.error("sync run failed: the state store failed; the catalog is unchanged", error=str(exc))
        with contextlib.suppress(StoreError):  # a lock released meanwhile lets the small record in
            await asyncio.to_thread(self.store.record_run, record)
        return RunResult(run_id, "failed", summary=record.summary)

    async def _recover_store(self) -> None:
        """Before a run: leave read-only mode if the store can be written again."""
        try:
            await asyncio.to_thread(self.store.recover)
            health = await asyncio.to_thread(self.store.health)
        except StoreError as exc:
            health = str(exc)
        if health:
            self.state.degraded["store"] = health
        elif "store" in self.state.degraded and self.state.degraded["store"].startswith("read-only"):
            del self.state.degraded["store"]

    async def schedule(self, *, max_runs: int | None = None) -> None:
        """Run now and then every ``frequency`` seconds until stopped."""
        frequency = self.config.openchoreo.schedule.frequency
        loop = asyncio.get_running_loop()
        runs = 0
        announced_follower = False
        while not self.stop_event.is_set():
            started = loop.time()
            await self._recover_store()
            # in a thread: with PostgreSQL this is a network round trip (bounded by connect_timeout)
            if await self._try_lead():
                if not self.state.leading:
                    self.log.info("this replica runs the syncs (leader)")
                self.state.leading = True
                self.wake_event.clear()
                run = asyncio.create_task(self.run_once())
                stopper = asyncio.create_task(self.stop_event.wait())
                await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not run.done():
                    run.cancel()
                    await asyncio.gather(run, return_exceptions=True)
                    self.log.info("in-flight run cancelled for shutdown")
                    return
                try:
                    run.result()
                    self.state.degraded.pop("sync", None)
                except Exception as exc:  # nothing a run does may end the daemon; the next tick retries
                    self.state.degraded["sync"] = f"the last run crashed: {describe_error(exc)}"
                    self.log.error(
                        "sync run crashed; the catalog is unchanged, the next run retries",
                        error=describe_error(exc),
                    )
                runs += 1
                del run, stopper  # the finished task holds the run's entities
                release_free_memory()  # idle until the next run: give the run's heap back
            elif "leader" in self.state.degraded:
                self.state.leading = False
            else:
                if self.state.leading or not announced_follower:
                    self.log.info("another replica holds the leader lock; serving only")
                    announced_follower = True
                self.state.leading = False
                if not self.state.ready:  # a follower serves the snapshot the leader committed
                    with contextlib.suppress(StoreError):
                        self.state.ready = await asyncio.to_thread(self.store.snapshot_version) is not None
            if max_runs is not None and runs >= max_runs:
                return
            delay = max(0.0, frequency - (loop.time() - started))
            await self._sleep(delay)

    async def _try_lead(self) -> bool:
        """Whether this replica runs the sync now; an election that could not be held is degraded."""
        try:
            leading = await asyncio.to_thread(self.store.try_lead)
            error = getattr(self.store, "election_error", None)
        except Exception as exc:  # the database is gone: serve what can be served, retry next tick
            leading, error = False, describe_error(exc)
        if error and not leading:
            if self.state.degraded.get("leader") != error:
                self.log.error("cannot hold leader election: the state store is unreachable", error=error)
            self.state.degraded["leader"] = error
        else:
            self.state.degraded.pop("leader", None)
        return leading

    async def _sleep(self, seconds: float) -> None:
        stop = asyncio.create_task(self.stop_event.wait())
        wake = asyncio.create_task(self.wake_event.wait())
        await asyncio.wait({stop, wake}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in (stop, wake):
            task.cancel()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self.log.info("stopping", signal=sig.name)
        self.stop_event.set()

    async def serve_forever(self) -> None:
        self.install_signal_handlers()
        await self.start()
        try:
            await self.schedule()
        finally:
            await self.stop()
