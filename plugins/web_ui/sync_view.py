"""The sync page's data: recent runs, what needs attention, and the health of every part.

Everything comes from the run records and the reconcile state (``ctx.sync_status``), the catalog
index (stale entities) and the daemon's event queue; the page answers "is the sync healthy, and if
not, what do I do" from the top down: held runs with the command that applies them, failed and
stale collections with their errors, pending removals, outputs, events, then the run history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openchoreo_sync.kit import CatalogReader, EventQueueState, RunRecord, SyncStatusReader

from .links import entity_url

PHASES = ("fetch", "map", "relate", "commit")
REFS_SHOWN = 50
APPLIED = frozenset({"ok", "partial"})
STALE_KEY = "metadata.annotations.openchoreo-sync.io/stale-since"
"""the search key of the stale mark the core puts on carried-forward entities"""


@dataclass
class RunRow:
    run_id: str
    status: str
    trigger: str
    started_at: str
    finished_at: str
    seconds: float | None
    phases: dict[str, float]
    entities: int
    changes: dict[str, int]
    outputs: dict[str, str]
    error: str


@dataclass
class GuardedRun:
    run_id: str
    started_at: str
    reasons: list[str]
    planned: int
    sample: list[tuple[str, str]]
    """(ref, url) of the first planned removals"""
    approved: bool
    command: str


@dataclass
class CollectionProblem:
    key: str
    error: str
    since: str
    """when it was last fetched completely ("never" when it never was)"""
    stale_entities: int


@dataclass
class OutputHealth:
    name: str
    last_result: str
    last_run: str | None
    needs_full: bool


@dataclass
class SyncPage:
    version: str | None
    entities: int
    latest: RunRow | None
    last_applied: RunRow | None
    guarded: list[GuardedRun]
    failed: list[CollectionProblem]
    stale: list[CollectionProblem]
    """collections whose entities are carried forward, failed in the latest run or not"""
    pending: list[tuple[str, str, int]]
    """(ref, url, misses so far)"""
    grace_runs: int
    outputs: list[OutputHealth]
    output_problems: list[str]
    events: dict[str, int] | None
    event_depth: int
    problems: list[str]
    runs: list[RunRow] = field(default_factory=list)


def _seconds(started: str, finished: str | None) -> float | None:
    if not finished:
        return None
    try:
        start = datetime.fromisoformat(started.replace("Z", "+00:00"))
        end = datetime.fromisoformat(finished.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((end - start).total_seconds(), 3)


def _short_time(value: str | None) -> str:
    return (value or "").replace("T", " ").split(".")[0].removesuffix("Z")


def _mapping(summary: dict[str, Any], key: str) -> dict[str, Any]:
    value = summary.get(key)
    return value if isinstance(value, dict) else {}


def _row(run: RunRecord) -> RunRow:
    summary = run.summary or {}
    seconds, counts = _mapping(summary, "seconds"), _mapping(summary, "counts")
    changes, outputs = _mapping(summary, "changes"), _mapping(summary, "outputs")
    return RunRow(
        run_id=run.run_id,
        status=run.status,
        trigger=run.trigger,
        started_at=_short_time(run.started_at),
        finished_at=_short_time(run.finished_at),
        seconds=_seconds(run.started_at, run.finished_at),
        phases={phase: float(seconds[phase]) for phase in PHASES if isinstance(seconds.get(phase), int | float)},
        entities=sum(v for v in counts.values() if isinstance(v, int)),
        changes={k: int(changes.get(k, 0)) for k in ("added", "changed", "removed")},
        outputs={str(k): str(v) for k, v in outputs.items()},
        error=str(summary.get("error") or ""),
    )


def _problem_lines(value: Any) -> list[str]:
    """Output problems as an output recorded them (a list of texts, or name -> texts)."""
    if isinstance(value, dict):
        return [f"{k}: {line}" for k, v in value.items() for line in _problem_lines(v)]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)] if value else []


def sync_page(
    status: SyncStatusReader,
    catalog: CatalogReader,
    events: EventQueueState | None,
    *,
    runs_shown: int,
    grace_runs: int,
    base_path: str,
) -> SyncPage:
    runs = status.recent_runs(runs_shown)
    rows = [_row(run) for run in runs]
    latest = runs[0] if runs else None
    last_applied = next((row for row in rows if row.status in APPLIED), None)
    approvals = status.approvals()

    guarded: list[GuardedRun] = []
    for run in runs:  # held runs newer than the last applied one still hold back their removals
        if run.status in APPLIED:
            break
        if run.status != "guarded":
            continue
        planned = [str(ref) for ref in run.summary.get("planned_removals", [])]
        guarded.append(
            GuardedRun(
                run_id=run.run_id,
                started_at=_short_time(run.started_at),
                reasons=[str(r) for r in run.summary.get("guard", [])],
                planned=len(planned),
                sample=[(ref, entity_url(base_path, ref)) for ref in planned[:REFS_SHOWN]],
                approved=run.run_id in approvals,
                command=f"openchoreo-sync approve-deletions -c app-config.yaml {run.run_id}",
            )
        )

    stale_refs = {ref for ref, _, _ in catalog.search_values([STALE_KEY])}
    stale_by_collection = Counter(entry.collection for entry in catalog.index_entries(stale_refs).values())
    times = status.collection_times()
    latest_summary = latest.summary if latest is not None else {}
    failures: dict[str, str] = {
        **{str(k): str(v) for k, v in (latest_summary.get("failed_families") or {}).items()},
        **{str(k): str(v) for k, v in (latest_summary.get("failed_collections") or {}).items()},
    }
    failed = [
        CollectionProblem(key, error, _short_time(times.get(key)) or "never", stale_by_collection.get(key, 0))
        for key, error in sorted(failures.items())
    ]
    stale = [
        CollectionProblem(key, failures.get(key, ""), _short_time(times.get(key)) or "never", count)
        for key, count in sorted(stale_by_collection.items())
    ]

    outputs: dict[str, str] = {}
    output_problems: list[str] = []
    for run in runs:
        for name, result in (run.summary.get("outputs") or {}).items():
            outputs.setdefault(str(name), str(result))
    if last_applied is not None:
        applied = next(run for run in runs if run.run_id == last_applied.run_id)
        output_problems = _problem_lines(applied.summary.get("output_problems"))
    output_rows = []
    for name in sorted(outputs):
        last_run, needs_full = status.output_state(name)
        output_rows.append(OutputHealth(name, outputs[name], last_run, needs_full))

    pending = sorted(status.pending_removals().items())
    return SyncPage(
        version=catalog.snapshot_version(),
        entities=catalog.count(),
        latest=rows[0] if rows else None,
        last_applied=last_applied,
        guarded=guarded,
        failed=failed,
        stale=stale,
        pending=[(ref, entity_url(base_path, ref), misses) for ref, misses in pending[:REFS_SHOWN]],
        grace_runs=grace_runs,
        outputs=output_rows,
        output_problems=output_problems[:REFS_SHOWN],
        events=dict(events.stats) if events is not None else None,
        event_depth=len(events.pending) if events is not None else 0,
        problems=[str(p) for p in (latest_summary.get("problems") or [])][:REFS_SHOWN],
        runs=rows,
    )
