"""Near-real-time updates: OpenChoreo's event forwarder POSTs here, the daemon re-fetches and applies.

An event is a hint, never data: it names a resource, the owning family re-fetches it with one GET,
and the result goes through the same map and relate as a full sync. Events for the same resource
within ``coalesceMs`` are merged; when more distinct resources are pending than ``queueSize``, the
queue is dropped in favour of a full sync (never silently). The path is the one Backstage's events
HTTP ingress uses for topic ``openchoreo``, so a forwarder aimed at Backstage can be re-pointed here.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .build import describe_error
from .config import AppConfig
from .context import ApiClient, SyncContext
from .delta import apply_refetched
from .model import Refetched, ResourceEvent
from .plugins_manager import LoadedPlugins
from .run_records import new_run_id
from .server import backstage_error, public, token_matches
from .writer import SnapshotWriter


class EventHost(Protocol):
    """What applying events needs from the sync engine (the engine provides it)."""

    config: AppConfig
    plugins: LoadedPlugins
    writer: SnapshotWriter

    def client_factory(self) -> AbstractAsyncContextManager[ApiClient]: ...

    def context(self, run_id: str, client: ApiClient | None = None) -> SyncContext: ...


EVENTS_PATH = "/api/events/http/openchoreo"
_Key = tuple[str, str, str]


def parse_event(payload: Any) -> ResourceEvent:
    """Validate the forwarder's payload ``{kind, name, namespace?, action}``; ValueError says what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError(f"the event must be a JSON object, got {type(payload).__name__}")
    missing = [key for key in ("kind", "name", "action") if not isinstance(payload.get(key), str) or not payload[key]]
    if missing:
        raise ValueError(f"the event needs non-empty string field(s) {', '.join(missing)}")
    namespace = payload.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise ValueError("the event's namespace must be a string when given")
    # Names go into request paths: "." or ".." (or a "/") would make the daemon GET other API
    # paths with its token. Kubernetes names are DNS-1123 subdomains; kinds are identifiers.
    if not _KIND.fullmatch(payload["kind"]):
        raise ValueError(f"the event's kind {payload['kind'][:80]!r} is not a kind name")
    for field_name, value in (("name", payload["name"]), ("namespace", namespace or "")):
        if value and (len(value) > 253 or not _NAME.fullmatch(value)):
            raise ValueError(f"the event's {field_name} {value[:80]!r} is not a valid Kubernetes name")
    return ResourceEvent(payload["kind"], payload["name"], namespace or None, payload["action"])


_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class EventIngress:
    """The events endpoint, the coalescing queue and the worker that applies events one at a time."""

    def __init__(self, engine: EventHost, request_full_sync: Callable[[], None]) -> None:
        self.engine = engine
        self.settings = engine.config.openchoreo.events
        self.request_full_sync = request_full_sync
        self.log = structlog.get_logger("openchoreo_sync.events")
        self.pending: dict[_Key, tuple[ResourceEvent, float, float]] = {}
        """resource -> (latest event, when its first event arrived, when it is due)"""
        self.arrived = asyncio.Event()
        self.worker: asyncio.Task[None] | None = None
        self.stats = {
            "received": 0,
            "coalesced": 0,
            "refetched": 0,
            "applied": 0,
            "ignored": 0,
            "failed": 0,
            "overflows": 0,
            "unconfirmed": 0,
            "held": 0,
        }
        self.idle = asyncio.Event()
        self.idle.set()
        server = engine.config.openchoreo.server
        self._tokens = [s.get_secret_value() for s in (server.token, self.settings.token) if s is not None]

    # --- HTTP ----------------------------------------------------------------------------------

    def routes(self) -> list[Any]:
        return [public(Route(EVENTS_PATH, self.receive, methods=["POST"]))]

    async def receive(self, request: Request) -> Response:
        if self._tokens and not any(token_matches(request.headers.get("authorization"), t) for t in self._tokens):
            message = "Missing credentials" if "authorization" not in request.headers else "Invalid credentials"
            return backstage_error(401, "AuthenticationError", message, request)
        limit = self.settings.max_body_bytes
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                return backstage_error(413, "PayloadTooLargeError", f"event body exceeds {limit} bytes", request)
        try:
            event = parse_event(json.loads(body or b"null"))
        except (ValueError, UnicodeDecodeError) as exc:
            return backstage_error(400, "InputError", f"malformed OpenChoreo event: {exc}", request)
        self.submit(event)
        return JSONResponse({"status": "accepted"}, status_code=202)

    # --- queue ---------------------------------------------------------------------------------

    def submit(self, event: ResourceEvent) -> None:
        """Queue an event, debounced per resource.

        A resource is re-fetched once its events pause for ``coalesceMs``, but no later than
        ``maxDelayMs`` after its first queued event, so a steady stream still gets through.
        """
        self.stats["received"] += 1
        key = (event.kind.lower(), event.namespace or "", event.name)
        now = asyncio.get_running_loop().time()
        quiet = self.settings.coalesce_ms / 1000
        if key in self.pending:
            self.stats["coalesced"] += 1
            _, first, _ = self.pending[key]
            self.pending[key] = (event, first, min(first + self.settings.max_delay_ms / 1000, now + quiet))
            return
        if len(self.pending) >= self.settings.queue_size:
            self.stats["overflows"] += 1
            self.log.warning(
                "event queue overflowed; dropping queued events and scheduling a full sync instead",
                queued=len(self.pending),
                queue_size=self.settings.queue_size,
            )
            self.pending.clear()
            self.request_full_sync()
            return
        self.pending[key] = (event, now, now + quiet)
        self.idle.clear()
        self.arrived.set()

    def start(self) -> None:
        self.worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            await asyncio.gather(self.worker, return_exceptions=True)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.arrived.wait()
            self.arrived.clear()
            try:
                while self.pending:
                    if (wait := min(due for _, _, due in self.pending.values()) - loop.time()) > 0:
                        self.arrived.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.arrived.wait(), wait)
                        continue
                    await self._drain_due()
            except Exception as exc:  # the worker must survive anything one event does
                self.log.error("event processing failed", error=describe_error(exc))
            if not self.pending:
                self.idle.set()

    async def _drain_due(self) -> None:
        """Apply every due event, taking each off the queue only when its turn comes.

        An event that arrives after its resource's re-fetch started queues it again, because the
        resource may have changed since.
        """
        loop = asyncio.get_running_loop()
        async with self.engine.client_factory() as client:
            while True:
                now = loop.time()
                due = [key for key, (_, _, at) in self.pending.items() if at <= now]
                if not due:
                    return
                for key in due:
                    entry = self.pending.pop(key, None)
                    if entry is None:
                        continue
                    run_id = "ev-" + new_run_id()
                    await self._apply(entry[0], self.engine.context(run_id, client), run_id)

    async def _apply(self, event: ResourceEvent, ctx: SyncContext, run_id: str) -> None:
        if not await asyncio.to_thread(self.engine.writer.store.try_lead):
            # With a shared PostgreSQL store only the leader writes; its next full sync covers this.
            self.stats["ignored"] += 1
            self.log.info("event not applied: this replica is not the leader", kind=event.kind, name=event.name)
            return
        answered = False
        failed = False
        for family, refetched in await self._refetch(event, ctx):
            answered = True
            if isinstance(refetched, BaseException):  # any error other than 404 changes nothing
                failed = True
                self.log.error(
                    "event re-fetch failed; nothing changed",
                    plugin=family,
                    kind=event.kind,
                    namespace=event.namespace,
                    name=event.name,
                    error=describe_error(refetched),
                )
                continue
            if refetched.gone and not refetched.confirmed:
                # A 404 next to a namespace that does not answer either (a misrouted gateway, a
                # namespace mid-migration) says nothing about the resource: keep it, the full
                # sync decides with its own guards.
                self.stats["unconfirmed"] += 1
                self.log.warning(
                    "event removal not confirmed; nothing removed, the next full sync decides",
                    plugin=family,
                    kind=event.kind,
                    namespace=event.namespace,
                    name=event.name,
                    origin=refetched.origin,
                    reason="the resource answered 404 but its namespace could not confirm it is gone",
                )
                continue
            result = await apply_refetched(self.engine.writer, family, event, refetched, ctx, run_id)
            if result.held is not None:
                self.stats["held"] += 1
                self.log.warning(
                    "event removal held by the deletion rules; nothing changed, the next full sync decides",
                    plugin=family,
                    kind=event.kind,
                    namespace=event.namespace,
                    name=event.name,
                    reason=result.held,
                )
                continue
            if not result.changes.empty:
                self.stats["applied"] += 1
            self.log.info(
                "event applied",
                plugin=family,
                kind=event.kind,
                namespace=event.namespace,
                name=event.name,
                action=event.action,
                gone=refetched.gone,
                **result.changes.summary(),
            )
        if not answered:
            self.stats["ignored"] += 1
            self.log.debug("no enabled plugin handles events of this kind", kind=event.kind, name=event.name)
        elif failed:
            self.stats["failed"] += 1
        else:
            self.stats["refetched"] += 1

    async def _refetch(self, event: ResourceEvent, ctx: SyncContext) -> list[tuple[str, Refetched | BaseException]]:
        """Every family's answer, in hook order: one kind may feed several families (a component
        type is both its own entity and a Template's source), and each re-fetches what it owns.

        A family that raises has its error in place of an answer, so the others still apply.
        """
        answers: list[tuple[str, Refetched | BaseException]] = []
        for implementation in self.engine.plugins.each("refetch"):
            try:
                result = implementation(event=event, ctx=ctx)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                answers.append((implementation.plugin, exc))
                continue
            if result is None:
                continue
            if not isinstance(result, Refetched):
                message = f"refetch must return Refetched or None, got {type(result).__name__}"
                answers.append((implementation.plugin, TypeError(f"plugin {implementation.plugin!r}: {message}")))
                continue
            answers.append((implementation.plugin, result))
        return answers
