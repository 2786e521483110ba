"""Request counters, so tests and benchmarks can assert the client made the minimum of calls.

``requests`` counts every HTTP request sent to the API, retried attempts included, so a fault-free
full walk of N collections costs exactly ``sum(max(1, ceil(items / 100)))``. Token endpoint calls
are counted apart in ``token_requests``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_API_PREFIXES = ("api", "v1", "v1alpha1")


def path_template(path: str) -> str:
    """``/api/v1/namespaces/{namespace}/components/{name}`` for any concrete path.

    Paths under ``/api/<version>`` alternate collection and name segments, so every second
    segment is a name; the name after ``namespaces`` is shown as ``{namespace}``.
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    start = 0
    while start < len(parts) and parts[start] in _API_PREFIXES:
        start += 1
    if start == 0:
        return "/" + "/".join(parts)
    out = parts[:start]
    for index, part in enumerate(parts[start:]):
        if index % 2 == 0:
            out.append(part)
        else:
            out.append("{namespace}" if out[-1] == "namespaces" else "{name}")
    return "/" + "/".join(out)


@dataclass
class ClientStats:
    """Counters of one client; mutated only on the event loop, so no locking."""

    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    retry_outcomes: Counter[str] = field(default_factory=Counter)
    """What each retried attempt got: an HTTP status such as ``503``, or ``no_response``."""
    restarts: int = 0
    pages: int = 0
    token_requests: int = 0
    bytes_received: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0

    def started(self, path: str) -> None:
        self.requests += 1
        self.by_path[path_template(path)] += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def finished(self, status: int | None) -> None:
        self.in_flight -= 1
        if status is not None:
            self.by_status[status] += 1

    def as_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready copy (for ``/metrics``-style output and benchmark reports)."""
        return {
            "requests": self.requests,
            "byPath": dict(self.by_path),
            "byStatus": {str(k): v for k, v in self.by_status.items()},
            "retries": self.retries,
            "restarts": self.restarts,
            "pages": self.pages,
            "tokenRequests": self.token_requests,
            "bytesReceived": self.bytes_received,
            "peakInFlight": self.peak_in_flight,
        }
