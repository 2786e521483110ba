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
import hashlib
import hmac
import inspect
import json
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .build import describe_error
from .config import AppConfig
from .context import ApiClient, SyncContext
from .delta import apply_refetched
from .model import Refetched, ResourceEvent, source_id
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


SIGNATURE_HEADER = "X-OpenChoreo-Signature"
"""With ``openchoreo.events.signatureSecret``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
BURST_QUIET_SECONDS = 1.0
"""An overflowed burst is over once no event came for this long."""
BURST_MAX_SECONDS = 60.0
"""An endless burst still gets a full sync at least this often."""


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body under secret>`` (compared in constant time)."""
    if not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256":
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


@dataclass(slots=True)
class _Pending:
    event: ResourceEvent
    first: float
    """when its first event arrived"""
    due: float
    known: bool
    """the catalog holds what this resource produced: served before unknown ones"""


@dataclass(slots=True)
class _Absorbing:
    """A burst that overflowed the queue, being absorbed into full syncs instead of re-fetched."""

    tiers: set[bool]
    """which tiers are absorbed: ``{True, False}`` after the known tier overflowed, ``{False}`` after unknown"""
    fetches_at: int
    """``writer.full_fetches`` when the full sync was requested"""
    since: float
    last: float
    after_fetch: bool = False
    """an event was absorbed after that full sync started fetching: it may have missed it"""
    full_syncs: int = 0
    """full syncs requested for this burst"""


class EventIngress:
    """The events endpoint, the coalescing queue and the worker that applies events one at a time.

    The queue is fair to the catalog: events for resources the catalog holds (``known``) are
    re-fetched before events naming anything else, which is what forged events mostly name, and
    the unknown ones have a bounded budget (``unknownBudget``). Re-fetches start at most
    ``maxRefetchPerSecond``. A queue that overflows (``queueSize`` known resources, the forwarder's
    restart burst of a ``created`` per object; or the unknown budget) is dropped for a full sync,
    and the rest of the burst is absorbed by it: one full sync when the burst ends before that sync
    starts fetching, one more after the burst if it went on meanwhile.
    """

    def __init__(self, engine: EventHost, request_full_sync: Callable[[], None]) -> None:
        self.engine = engine
        self.settings = engine.config.openchoreo.events
        self.request_full_sync = request_full_sync
        self.log = structlog.get_logger("openchoreo_sync.events")
        self.pending: dict[_Key, _Pending] = {}
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
            "absorbed": 0,
            "rejected": 0,
        }
        self.idle = asyncio.Event()
        self.idle.set()
        self.absorbing: _Absorbing | None = None
        self._next_refetch = 0.0
        server = engine.config.openchoreo.server
        self._tokens = [s.get_secret_value() for s in (server.token, self.settings.token) if s is not None]
        secret = self.settings.signature_secret
        self._signature_secret = secret.get_secret_value() if secret is not None else None

    # --- HTTP ----------------------------------------------------------------------------------

    def routes(self) -> list[Any]:
        return [public(Route(EVENTS_PATH, self.receive, methods=["POST"]))]

    async def receive(self, request: Request) -> Response:
        if self._tokens and not any(token_matches(request.headers.get("authorization"), t) for t in self._tokens):
            self.stats["rejected"] += 1
            message = "Missing credentials" if "authorization" not in request.headers else "Invalid credentials"
            return backstage_error(401, "AuthenticationError", message, request)
        limit = self.settings.max_body_bytes
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                return backstage_error(413, "PayloadTooLargeError", f"event body exceeds {limit} bytes", request)
        if self._signature_secret is not None and not signature_matches(
            self._signature_secret, bytes(body), request.headers.get(SIGNATURE_HEADER)
        ):
            self.stats["rejected"] += 1
            message = f"missing or wrong {SIGNATURE_HEADER} (sha256=<HMAC-SHA256 of the body>)"
            return backstage_error(401, "AuthenticationError", message, request)
        try:
            event = parse_event(json.loads(body or b"null"))
        except (ValueError, UnicodeDecodeError) as exc:
            return backstage_error(400, "InputError", f"malformed OpenChoreo event: {exc}", request)
        self.submit(event, known=await self._known(event))
        return JSONResponse({"status": "accepted"}, status_code=202)

    async def _known(self, event: ResourceEvent) -> bool:
        """Whether the catalog holds what this resource produced (its source id, namespaced or not)."""
        if self._key(event) in self.pending:
            return self.pending[self._key(event)].known
        sources = {source_id(event.kind, event.namespace, event.name), source_id(event.kind, None, event.name)}
        try:
            return bool(await asyncio.to_thread(self.engine.writer.store.refs_by_sources, sources))
        except Exception:  # a store that cannot answer makes the event unknown, never an error
            return False

    # --- queue ---------------------------------------------------------------------------------

    @staticmethod
    def _key(event: ResourceEvent) -> _Key:
        return (event.kind.lower(), event.namespace or "", event.name)

    def submit(self, event: ResourceEvent, *, known: bool = True) -> None:
        """Queue an event, debounced per resource.

        A resource is re-fetched once its events pause for ``coalesceMs``, but no later than
        ``maxDelayMs`` after its first queued event, so a steady stream still gets through.
        """
        self.stats["received"] += 1
        key = self._key(event)
        now = asyncio.get_running_loop().time()
        quiet = self.settings.coalesce_ms / 1000
        if (entry := self.pending.get(key)) is not None:
            self.stats["coalesced"] += 1
            entry.event = event
            entry.due = min(entry.first + self.settings.max_delay_ms / 1000, now + quiet)
            return
        if self._absorb(known, now):
            return
        tier = sum(1 for p in self.pending.values() if p.known == known)
        if tier >= (self.settings.queue_size if known else self.settings.unknown_budget):
            self._overflow(known, now, tier)
            return
        self.pending[key] = _Pending(event, now, now + quiet, known)
        self.idle.clear()
        self.arrived.set()

    def _absorb(self, known: bool, now: float) -> bool:
        """Whether an overflowed burst's full sync covers this event (it is then dropped)."""
        burst = self.absorbing
        if burst is None or known not in burst.tiers:
            return False
        self.stats["absorbed"] += 1
        burst.last = now
        if self.engine.writer.full_fetches > burst.fetches_at:
            burst.after_fetch = True
        if burst.after_fetch and now - burst.since >= BURST_MAX_SECONDS:
            self._full_sync(burst, now)  # an endless burst: a full sync at least this often
        self.arrived.set()  # the worker ends the burst once it pauses
        return True

    def _overflow(self, known: bool, now: float, queued: int) -> None:
        self.stats["overflows"] += 1
        tiers = {True, False} if known else {False}
        limit = "openchoreo.events.queueSize" if known else "openchoreo.events.unknownBudget"
        self.log.warning(
            "event queue overflowed; dropping queued events and scheduling a full sync instead",
            queued=queued,
            limit=f"{limit} ({self.settings.queue_size if known else self.settings.unknown_budget})",
            tier="resources in the catalog" if known else "resources the catalog does not hold",
        )
        for key in [k for k, p in self.pending.items() if p.known in tiers]:
            del self.pending[key]
        burst = self.absorbing
        if burst is None:
            self.absorbing = _Absorbing(tiers, 0, now, now)
            self._full_sync(self.absorbing, now)
        else:  # the burst's full sync covers these too, or (already fetching) the one after the burst
            burst.tiers |= tiers
            burst.last = now
            if self.engine.writer.full_fetches > burst.fetches_at:
                burst.after_fetch = True
        self.arrived.set()

    def _full_sync(self, burst: _Absorbing, now: float) -> None:
        burst.fetches_at = self.engine.writer.full_fetches
        burst.since = now
        burst.after_fetch = False
        burst.full_syncs += 1
        self.request_full_sync()

    def _end_burst(self, now: float) -> float | None:
        """End an absorbed burst that paused (one more full sync if it outlasted the first's
        fetch start); else the seconds until it may have."""
        burst = self.absorbing
        if burst is None:
            return None
        if (wait := burst.last + BURST_QUIET_SECONDS - now) > 0:
            return wait
        self.absorbing = None
        if burst.after_fetch:
            burst.full_syncs += 1
            self.request_full_sync()
        self.log.info(
            "event burst absorbed by full syncs", absorbed=self.stats["absorbed"], full_syncs=burst.full_syncs
        )
        return None

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
                while self.pending or self.absorbing is not None:
                    waits = [p.due - loop.time() for p in self.pending.values()]
                    if (burst := self._end_burst(loop.time())) is not None:
                        waits.append(burst)
                    if (wait := min(waits, default=0.0)) > 0:
                        self.arrived.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.arrived.wait(), wait)
                        continue
                    if self.pending:
                        await self._drain_due()
            except Exception as exc:  # the worker must survive anything one event does
                self.log.error("event processing failed", error=describe_error(exc))
            if not self.pending:
                self.idle.set()

    def _next_due(self, now: float) -> _Key | None:
        """The due resource to re-fetch next: those the catalog holds first, then the oldest."""
        due = [(not p.known, p.due, key) for key, p in self.pending.items() if p.due <= now]
        return min(due)[2] if due else None

    async def _throttle(self) -> None:
        """At most ``maxRefetchPerSecond`` re-fetches start per second."""
        loop = asyncio.get_running_loop()
        interval = 1 / self.settings.max_refetch_per_second
        now = loop.time()
        start = max(now, self._next_refetch)
        self._next_refetch = start + interval
        if start > now:
            await asyncio.sleep(start - now)

    async def _drain_due(self) -> None:
        """Apply every due event, taking each off the queue only when its turn comes.

        An event that arrives after its resource's re-fetch started queues it again, because the
        resource may have changed since.
        """
        loop = asyncio.get_running_loop()
        async with self.engine.client_factory() as client:
            while (key := self._next_due(loop.time())) is not None:
                await self._throttle()
                entry = self.pending.pop(key, None)
                if entry is None:  # dropped by an overflow while waiting for the rate
                    continue
                run_id = "ev-" + new_run_id()
                await self._apply(entry.event, self.engine.context(run_id, client), run_id)

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
