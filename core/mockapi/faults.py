"""Fault injection: the failures a sync client must survive, switchable at runtime.

Global knobs (latency, random failure rate) apply to every ``/api/`` request. Rules target
paths by regex and can be limited to a number of hits or to the Nth page of a walk. The
server asks :meth:`Faults.decide` once per request and acts on the returned rule.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal[
    "status",  # answer ``status`` (JSON error body for 500, text/plain otherwise), Retry-After if set
    "reset",  # close the TCP connection without any response (RST)
    "timeout",  # hang for ``hang_seconds`` (or until the client goes away), then answer nothing
    "malformed",  # 200 with a truncated, invalid JSON body
    "wrong_types",  # 200 with valid JSON of the wrong shape (items is an object, cursor a number)
    "cursor_loop",  # the list always carries a nextCursor pointing back at the same page
]
ACTIONS: tuple[str, ...] = ("status", "reset", "timeout", "malformed", "wrong_types", "cursor_loop")


@dataclass
class FaultRule:
    """One targeted fault.

    ``path`` is a regex searched in the request path (``/components$`` or
    ``/namespaces/[^/]+/workloads``). ``page`` (1-based) restricts the rule to that page of a
    walk (page 1 has no cursor). ``times`` limits how often it fires (None = forever).
    """

    path: str
    action: Action = "status"
    status: int = 500
    retry_after: int | None = None
    page: int | None = None
    times: int | None = None
    hang_seconds: float = 30.0
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {ACTIONS}")
        self._regex = re.compile(self.path)

    def matches(self, path: str, page: int) -> bool:
        assert self._regex is not None
        return bool(self._regex.search(path)) and (self.page is None or self.page == page)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_regex")
        return d


class Faults:
    """Runtime-settable fault configuration of one mock server (thread-safe)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        """Back to a well-behaved server."""
        with self._lock:
            self.latency_ms = 0
            self.failure_rate = 0.0
            self.failure_status = 500
            self.cursor_max_age: int | None = None
            self.rules: list[FaultRule] = []
            self._rng = random.Random(self._seed)

    def set_latency(self, ms: int) -> None:
        self.latency_ms = ms

    def set_failure_rate(self, rate: float, status: int = 500, seed: int | None = None) -> None:
        """Fail ``rate`` (0..1) of API requests with ``status``, drawn from a seeded RNG."""
        with self._lock:
            self.failure_rate, self.failure_status = rate, status
            if seed is not None:
                self._rng = random.Random(seed)

    def expire_cursors(self, max_age_requests: int | None) -> None:
        """Cursors issued more than N requests ago answer 500 (None switches this off)."""
        self.cursor_max_age = max_age_requests

    def add(self, rule: FaultRule | None = None, **kwargs: Any) -> FaultRule:
        """Add a rule, e.g. ``faults.add(path="/components$", action="reset", times=1)``."""
        rule = rule or FaultRule(**kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def fail(self, path: str, status: int = 500, **kwargs: Any) -> FaultRule:
        return self.add(path=path, action="status", status=status, **kwargs)

    def clear_rules(self) -> None:
        with self._lock:
            self.rules = []

    def decide(self, path: str, page: int) -> FaultRule | None:
        """The rule to apply to this request (consuming one of its ``times``), if any."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(path, page) and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
            if self.failure_rate > 0 and path.startswith("/api/") and self._rng.random() < self.failure_rate:
                return FaultRule(path=".*", action="status", status=self.failure_status)
        return None

    def configure(self, data: dict[str, Any]) -> None:
        """Apply a JSON fault description (the ``/_mock/faults`` body)."""
        if "latency_ms" in data:
            self.set_latency(int(data["latency_ms"]))
        if "failure_rate" in data:
            self.set_failure_rate(float(data["failure_rate"]), int(data.get("failure_status", 500)), data.get("seed"))
        if "cursor_max_age" in data:
            self.expire_cursors(data["cursor_max_age"])
        for rule in data.get("rules", []):
            self.add(FaultRule(**rule))

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": self.latency_ms,
                "failure_rate": self.failure_rate,
                "failure_status": self.failure_status,
                "cursor_max_age": self.cursor_max_age,
                "rules": [r.to_dict() for r in self.rules],
            }
