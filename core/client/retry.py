"""When to retry a request and how long to wait: exponential backoff with full jitter.

Only faults that a later attempt can fix are retried: connection errors, timeouts, 429 and the
gateway statuses 502/503/504. A 500 is not retried here because on this API it usually means
an expired list cursor, which only a restarted walk fixes (see ``pagination``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
MAX_BACKOFF = 30.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped.

    ``now`` is the wall-clock time (epoch seconds) used for the date form. A value that is
    neither form is ignored rather than trusted.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` extra attempts after the first; ``base`` is the first backoff ceiling in seconds."""

    retries: int
    base: float
    rand: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        """Wait before retry ``retry_number`` (1-based); the server's ``Retry-After`` wins."""
        if retry_after is not None:
            return retry_after
        ceiling = min(MAX_BACKOFF, self.base * (2 ** (retry_number - 1)))
        return self.rand(0.0, ceiling)
