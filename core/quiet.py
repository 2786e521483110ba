"""Quiet logs for a failure that repeats run after run.

A daemon with wrong credentials or an API that is down fails the same way every 30 s; logging
every line of every such run buries everything else (issue 18: 7 KB a run, forever). So the first
failing run is logged in full, as it happens. While runs keep failing, each run's lines are held
(``openchoreo_sync.logs.holding_lines``); when the run ends:

- it failed exactly as before: its lines are dropped, and every ``openchoreo.logging.repeatEvery``
  runs one line says the failure goes on, with the count and what to do;
- it failed differently, or succeeded: its lines are printed after all (in order, as they would
  have been), followed, on success, by one line saying how many runs had failed.

"Exactly as before" compares the run's status and its failure messages, not its timings.

The first run of a daemon is held too (unless logging at debug level): when every failure in it
has one well-known cause (the API cannot be reached, the token endpoint refuses the credentials),
one line naming the cause and what to do replaces the dozens of per-collection lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .logs import HeldLines, release

_OK = ("ok", "unchanged")


def failure_signature(status: str, summary: Mapping[str, Any]) -> str | None:
    """What makes two failed runs "the same failure"; None for a run that succeeded."""
    if status in _OK:
        return None
    return json.dumps(
        [
            status,
            summary.get("error"),
            summary.get("failed_families") or {},
            summary.get("failed_collections") or {},
            summary.get("guard") or [],
            summary.get("skipped") or 0,
        ],
        sort_keys=True,
        default=str,
    )


def first_failure(summary: Mapping[str, Any]) -> str | None:
    """The first failure message of a run summary, for one-line reports."""
    if summary.get("error"):
        return str(summary["error"])
    failures = {**(summary.get("failed_families") or {}), **(summary.get("failed_collections") or {})}
    for key, message in sorted(failures.items()):
        return f"{key}: {message}"
    guard = summary.get("guard") or []
    return f"deletion guard: {guard[0]}" if guard else None


def what_to_do(message: str | None, base_url: str | None) -> str | None:
    """A hint for the failures users meet first; the messages themselves carry the others."""
    if not message:
        return None
    if "Token request to" in message:
        return "the token endpoint did not issue a token: check openchoreo.auth (clientId, clientSecret, tokenUrl)"
    if "connection failed" in message or "ConnectError" in message:
        return f"cannot reach the OpenChoreo API at {base_url}: check openchoreo.baseUrl and that the API is up"
    if "timed out" in message.lower():
        return "the API answers too slowly: check its health, or raise openchoreo.client.timeout"
    return None


def common_cause(summary: Mapping[str, Any], base_url: str | None) -> str | None:
    """The hint shared by every failure of a run that fetched nothing, or None."""
    failures = {**(summary.get("failed_families") or {}), **(summary.get("failed_collections") or {})}
    hints = {what_to_do(str(message), base_url) for message in failures.values()}
    if len(hints) != 1 or summary.get("counts"):
        return None
    return hints.pop()


@dataclass
class _Streak:
    signature: str
    runs: int
    first_run_id: str


class RepeatedFailureLog:
    """Decides, run by run, whether a run's held lines are printed (see the module docstring)."""

    def __init__(self, log: Any, *, repeat_every: int, base_url: str | None, hold_first: bool = True) -> None:
        self.log = log
        self.repeat_every = repeat_every
        self.base_url = base_url
        self._streak: _Streak | None = None
        self._first = hold_first

    @property
    def holding(self) -> bool:
        """Hold the next run's lines: the first run, or the last one failed and this one may repeat it."""
        return self._first or self._streak is not None

    @property
    def failing_runs(self) -> int:
        return self._streak.runs if self._streak else 0

    def settle(self, run_id: str, status: str, summary: Mapping[str, Any], held: HeldLines | None) -> None:
        signature = failure_signature(status, summary)
        first, self._first = self._first, False
        if first and signature is not None and (cause := common_cause(summary, self.base_url)):
            if held is not None:
                held.clear()
            failures = {**(summary.get("failed_families") or {}), **(summary.get("failed_collections") or {})}
            self.log.error(cause, status=status, failure=first_failure(summary), failed=len(failures), run_id=run_id)
            self._streak = _Streak(signature, 1, run_id)
            return
        streak = self._streak
        if streak is not None and signature == streak.signature:
            streak.runs += 1
            if held is not None:
                held.clear()
            if streak.runs % self.repeat_every == 0:
                message = first_failure(summary)
                self.log.error(
                    "sync still failing the same way; the catalog is unchanged",
                    status=status,
                    failing_runs=streak.runs,
                    first_failed_run=streak.first_run_id,
                    failure=message,
                    hint=what_to_do(message, self.base_url) or "see 'openchoreo-sync status' for every failure",
                )
            return
        if held:
            release(held)
        if signature is None:
            if streak is not None:
                self.log.info("sync recovered", failed_runs=streak.runs, first_failed_run=streak.first_run_id)
            self._streak = None
            return
        self._streak = _Streak(signature, 1, run_id)
        hint = what_to_do(first_failure(summary), self.base_url)
        if hint:
            self.log.error(hint, run_id=run_id)

    def abandon(self, held: HeldLines | None) -> None:
        """The run raised instead of returning: whatever it logged is news."""
        if held:
            release(held)
