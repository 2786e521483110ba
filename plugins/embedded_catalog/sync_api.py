"""The pull contract for a catalog that ingests the snapshot itself (``/api/sync/v1``).

The Backstage entity provider in ``backstage-module/`` reads the whole snapshot in keyset pages
(every page names the snapshot it came from, so a reader notices a commit in the middle and starts
again instead of applying a mix of two runs), then follows the change feed from the sequence that
snapshot was at. The feed is a long poll: it answers as soon as a commit lands after ``since``, or
empty after ``wait`` seconds. ``status`` says whether the snapshot is safe to apply as a whole:
the daemon never commits a failed or guarded run, and it reports when the last run was one, so the
provider can keep what it applied instead of re-reading a snapshot it already has.

Entity bodies are the stored ones (with the relations the core computed, without the served
``metadata.uid``/``etag``: a catalog that ingests them assigns its own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openchoreo_sync.kit import CatalogReader
from openchoreo_sync.kit.catalog import DELETE, RunRecord
from openchoreo_sync.kit.http import SHUTTING_DOWN, backstage_error

from .errors import CatalogError, InputError
from .params import parse_int
from .serialize import dumps
from .view import consistent

T = TypeVar("T")

PAGE_DEFAULT, PAGE_MAX = 500, 2000
CHANGES_DEFAULT, CHANGES_MAX = 1000, 5000
WAIT_DEFAULT, WAIT_MAX = 20.0, 60.0
POLL_SECONDS = 0.25
"""How often a waiting long poll looks at the change sequence (one indexed read of ``meta``)."""

NOT_APPLIED = frozenset({"failed", "guarded", "timed_out"})
"""Run outcomes that commit nothing: the stored snapshot is older than OpenChoreo's state."""


class SnapshotChangedError(CatalogError):
    """A page was asked for a snapshot that is no longer the committed one."""

    status = 409
    name = "ConflictError"


@dataclass(frozen=True, slots=True)
class _Limits:
    default: int
    maximum: int


def _bounded_int(raw: str | None, name: str, limits: _Limits) -> int:
    value = parse_int(raw, name)
    if value is None:
        return limits.default
    if value <= 0:
        raise InputError(f"Invalid {name}, must be greater than zero")
    return min(value, limits.maximum)


def _run_json(run: RunRecord | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "runId": run.run_id,
        "status": run.status,
        "trigger": run.trigger,
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
    }


def _last_full_run(store: CatalogReader) -> RunRecord | None:
    """The newest scheduled/manual run (event deltas are not runs of the whole world)."""
    return next((r for r in store.recent_runs(20) if r.trigger != "event"), None)


def status_body(store: CatalogReader) -> dict[str, Any]:
    """What a puller needs to decide whether to apply the snapshot as a whole."""
    version = store.snapshot_version()
    count = store.count()
    snapshot_run = store.get_run(version) if version else None
    last = _last_full_run(store)
    position = store.change_position()
    reason = None
    if version is None:
        reason = "no snapshot has been committed yet"
    elif count == 0:
        reason = "the committed snapshot is empty"
    elif last is not None and last.status in NOT_APPLIED:
        reason = f"the last run {last.run_id} was {last.status} and changed nothing; the snapshot is older"
    return {
        "snapshotId": version,
        "sequence": position.head,
        "entities": count,
        "snapshotRun": _run_json(snapshot_run),
        "lastRun": _run_json(last),
        "fullSyncSafe": reason is None,
        "reason": reason,
    }


def snapshot_page(store: CatalogReader, after: str, limit: int, expected: str | None) -> dict[str, Any]:
    version = store.snapshot_version()
    if expected is not None and version != expected:
        raise SnapshotChangedError(f"snapshot {expected} is no longer the committed one (now {version}); start again")
    rows = store.body_page(after, limit)
    return {
        "snapshotId": version,
        "sequence": store.change_position().head,
        "totalItems": store.count(),
        "items": [body for _ref, body in rows],
        "nextAfter": rows[-1][0] if len(rows) == limit else None,
    }


def changes_body(store: CatalogReader, since: int, limit: int) -> dict[str, Any]:
    batch = store.changes_since(since, limit)
    version = store.snapshot_version()
    if batch.resync:
        return {
            "snapshotId": version,
            "sequence": batch.position.head,
            "resync": True,
            "reason": f"sequence {since} is outside the change window "
            f"[{batch.position.floor}, {batch.position.head}]; read the whole snapshot",
            "more": False,
            "changes": [],
        }
    upserts = [ref for ref, op in batch.ops.items() if op != DELETE]
    bodies = store.load_bodies(upserts) if upserts else {}
    changes: list[dict[str, Any]] = []
    for ref, op in batch.ops.items():
        body = bodies.get(ref)
        if op == DELETE or body is None:  # removed again by a later commit: the feed will say so too
            changes.append({"op": DELETE, "entityRef": ref})
        else:
            changes.append({"op": "upsert", "entityRef": ref, "entity": body})
    return {
        "snapshotId": version,
        "sequence": batch.until,
        "resync": False,
        "more": batch.more,
        "changes": changes,
    }


def _catching(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def wrapped(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except CatalogError as exc:
            error: Response = backstage_error(exc.status, exc.name, exc.message, request)
            return error

    return wrapped


def sync_routes(store: CatalogReader, base_path: str = "/api/sync/v1") -> list[Route]:
    """``GET {base}/status``, ``GET {base}/snapshot``, ``GET {base}/changes``."""

    async def read(compute: Callable[[], T]) -> T:
        return await run_in_threadpool(consistent, store, compute)

    async def status(_: Request) -> Response:
        return Response(dumps(await read(lambda: status_body(store))), media_type="application/json")

    async def snapshot(request: Request) -> Response:
        q = request.query_params
        limit = _bounded_int(q.get("limit"), "limit", _Limits(PAGE_DEFAULT, PAGE_MAX))
        after, expected = q.get("after", ""), q.get("snapshotId") or None
        body = await read(lambda: snapshot_page(store, after, limit, expected))
        return Response(dumps(body), media_type="application/json")

    async def changes(request: Request) -> Response:
        q = request.query_params
        since = parse_int(q.get("since"), "since")
        if since is None or since < 0:
            raise InputError("Missing or invalid since, must be a sequence number of zero or greater")
        limit = _bounded_int(q.get("limit"), "limit", _Limits(CHANGES_DEFAULT, CHANGES_MAX))
        wait = _wait_seconds(q.get("wait"))
        deadline = time.monotonic() + wait
        while True:  # bounded by the deadline
            position = await run_in_threadpool(store.change_position)
            if position.head != since or time.monotonic() >= deadline or _stopping(request):
                break
            await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        body = await read(lambda: changes_body(store, since, limit))
        return Response(dumps(body), media_type="application/json")

    base = base_path.rstrip("/")
    return [
        Route(f"{base}/status", _catching(status), methods=["GET"]),
        Route(f"{base}/snapshot", _catching(snapshot), methods=["GET"]),
        Route(f"{base}/changes", _catching(changes), methods=["GET"]),
    ]


def _stopping(request: Request) -> bool:
    """The daemon's server is shutting down: answer what there is now rather than be cancelled."""
    return bool(getattr(request.app.state, SHUTTING_DOWN, False))


def _wait_seconds(raw: str | None) -> float:
    if raw is None or raw == "":
        return WAIT_DEFAULT
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"Invalid wait, not a number of seconds: {raw!r}") from None
    if not 0 <= value <= WAIT_MAX:
        raise InputError(f"Invalid wait, must be between 0 and {WAIT_MAX:g} seconds")
    return value
