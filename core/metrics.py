"""``/metrics``: the daemon's health in Prometheus' text format, so a failing sync can be alerted on.

Everything is observed from outside the engine, at three points: each run's ``RunResult`` (its
status and summary), each API client's ``ClientStats`` when the client closes, and, at scrape time,
the store (entities by kind, as the catalog's ``kind`` facet counts them) and the event queue.
Each daemon has its own registry (tests run many daemons in one process), exposed by the well-kept
``prometheus_client``. Names follow Prometheus' conventions under the prefix ``openchoreo_sync_``;
see docs/metrics.md for the list and a sample alert rule.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .client.stats import ClientStats
from .errors import StoreError
from .store.base import StateStore

PREFIX = "openchoreo_sync_"
METRICS_PATH = "/metrics"
RUN_STATUSES = ("ok", "unchanged", "partial", "failed", "guarded", "timed_out", "error")
"""``error``: the run raised (the store could not record it) instead of returning a result."""
PHASES = ("fetch", "map", "relate", "commit")
_RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)


class SyncMetrics:
    """The daemon's metrics; ``observe_*`` are called on the event loop, reads happen at scrape time."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(f"{PREFIX}runs", "Full sync runs by final status", ["status"], registry=r)
        for status in RUN_STATUSES:
            self.runs.labels(status)  # every series exists from the start, so rate() sees the first failure
        self.run_duration = Histogram(
            f"{PREFIX}run_duration_seconds", "Duration of full sync runs", buckets=_RUN_BUCKETS, registry=r
        )
        self.phase_duration = Histogram(
            f"{PREFIX}phase_duration_seconds",
            "Duration of each phase of committed runs",
            ["phase"],
            buckets=_RUN_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            f"{PREFIX}last_success_timestamp_seconds",
            "Unix time the last run with status ok or unchanged finished (0: none yet)",
            registry=r,
        )
        self.last_run = Gauge(f"{PREFIX}last_run_timestamp_seconds", "Unix time the last run finished", registry=r)
        self.stale_collections = Gauge(
            f"{PREFIX}stale_collections",
            "Collections whose last fetch failed; their entities are kept from an earlier run",
            registry=r,
        )
        self.stale_entities = Gauge(
            f"{PREFIX}stale_entities", "Entities carried from an earlier run because their fetch failed", registry=r
        )
        self.pending_deletions = Gauge(
            f"{PREFIX}pending_deletions", "Entities absent upstream, waiting out the deletion grace runs", registry=r
        )
        self.guarded_deletions = Gauge(
            f"{PREFIX}guarded_deletions",
            "Removals the deletion guard holds back until approved (openchoreo-sync approve-deletions)",
            registry=r,
        )
        self.output_healthy = Gauge(
            f"{PREFIX}output_healthy", "1 if the output's last emit succeeded, 0 if it failed", ["output"], registry=r
        )
        self.requests = Counter(
            f"{PREFIX}api_requests",
            "Requests to the OpenChoreo API by HTTP status ('error': no response)",
            ["code"],
            registry=r,
        )
        self.retries = Counter(
            f"{PREFIX}api_retries",
            "Retried OpenChoreo API requests by what the failed attempt got (HTTP status or 'no_response')",
            ["outcome"],
            registry=r,
        )
        self.token_requests = Counter(f"{PREFIX}token_requests", "Requests to the OAuth2 token endpoint", registry=r)
        self.store_errors = Counter(
            f"{PREFIX}store_errors", "State store failures (a run that could not be stored, a failed read)", registry=r
        )
        self._entity_kinds: dict[str, int] = {}
        self._events: Callable[[], tuple[Mapping[str, int], int]] | None = None
        self._flags: dict[str, Callable[[], bool]] = {}
        self.registry.register(_ScrapeTimeCollector(self))

    # --- observation points ---------------------------------------------------------------------

    def observe_run(self, status: str, summary: Mapping[str, Any], seconds: float) -> None:
        """One full run's outcome, from its ``RunResult``."""
        now = time.time()
        self.runs.labels(status if status in RUN_STATUSES else "error").inc()
        self.run_duration.observe(seconds)
        self.last_run.set(now)
        if status in ("ok", "unchanged"):
            self.last_success.set(now)
        for phase, value in (summary.get("seconds") or {}).items():
            if phase in PHASES and isinstance(value, int | float):
                self.phase_duration.labels(phase).observe(value)
        if status in ("ok", "unchanged", "partial", "failed"):
            self.stale_collections.set(len(summary.get("failed_collections") or {}))
        if "carried" in summary:
            self.stale_entities.set(int(summary["carried"]))
        if "pending_removal" in summary:
            self.pending_deletions.set(int(summary["pending_removal"]))
        if status == "guarded":
            self.guarded_deletions.set(len(summary.get("planned_removals") or []))
        elif status in ("ok", "unchanged", "partial"):
            self.guarded_deletions.set(0)
        for output, outcome in (summary.get("outputs") or {}).items():
            self.output_healthy.labels(output).set(0 if str(outcome).startswith("failed") else 1)

    def observe_client(self, stats: ClientStats) -> None:
        """A closed API client's counters (each run and each event batch has its own client)."""
        answered = 0
        for code, count in stats.by_status.items():
            self.requests.labels(str(code)).inc(count)
            answered += count
        if stats.requests > answered:
            self.requests.labels("error").inc(stats.requests - answered)
        for outcome, count in stats.retry_outcomes.items():
            self.retries.labels(outcome).inc(count)
        self.token_requests.inc(stats.token_requests)

    def watch_events(self, read: Callable[[], tuple[Mapping[str, int], int]]) -> None:
        """Read ``(counters, queue depth)`` of the event ingress at each scrape."""
        self._events = read

    def watch_flag(self, name: str, read: Callable[[], bool]) -> None:
        """A 0/1 gauge read at each scrape (``ready``, ``leader``)."""
        self._flags[name] = read

    # --- exposition -----------------------------------------------------------------------------

    async def refresh_from_store(self) -> None:
        """Entities by kind from the store, off the event loop; a store failure keeps the last counts."""
        try:
            facets = await asyncio.to_thread(self.store.facets, ["kind"])
        except StoreError:
            self.store_errors.inc()
            return
        self._entity_kinds = dict(facets.get("kind", []))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def route(self) -> Route:
        async def metrics(_: Request) -> Response:
            await self.refresh_from_store()
            return Response(self.render(), media_type=CONTENT_TYPE_LATEST)

        return Route(METRICS_PATH, metrics, methods=["GET"])


class _ScrapeTimeCollector(Collector):
    """Values that are cheapest to read when asked: entity counts, the event queue, daemon flags."""

    def __init__(self, metrics: SyncMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        m = self.metrics
        kinds = GaugeMetricFamily(f"{PREFIX}entities", "Entities in the catalog by kind", labels=["kind"])
        for kind, count in sorted(m._entity_kinds.items()):
            kinds.add_metric([kind], count)
        yield kinds
        if m._events is not None:
            counters, depth = m._events()
            events = CounterMetricFamily(f"{PREFIX}events", "OpenChoreo change events by outcome", labels=["outcome"])
            for outcome, count in sorted(counters.items()):
                events.add_metric([outcome], count)
            yield events
            yield GaugeMetricFamily(f"{PREFIX}event_queue_depth", "Resources waiting to be re-fetched", value=depth)
        for name, read in sorted(m._flags.items()):
            yield GaugeMetricFamily(f"{PREFIX}{name}", f"1 if the daemon is {name}", value=1 if read() else 0)
