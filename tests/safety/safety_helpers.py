"""Shared pieces of the safety suite: small worlds, harness settings, snapshot comparison."""

from __future__ import annotations

import contextvars
import copy
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec, build_world
from openchoreo_sync.reconcile import STALE_ANNOTATION
from openchoreo_sync.serialization import serialize
from openchoreo_sync.store.bodies import decode_body
from openchoreo_sync.testing.harness import SyncHarness

SMALL = WorldSpec(seed=3, namespaces=1, projects=1, components=2, example=False)

# Fast failure: a hung request gives up after 0.5 s, one retry, almost no backoff.
FAST_CLIENT = {"openchoreo": {"client": {"timeout": 0.5, "retries": 1, "backoffBase": 0.01}}}

Snapshot = dict[str, dict[str, Any]]


def bare(entity: dict[str, Any]) -> dict[str, Any]:
    """The entity without relations (derived from the whole snapshot) and without the stale mark."""
    out = copy.deepcopy(entity)
    out.pop("relations", None)
    annotations = out.get("metadata", {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(STALE_ANNOTATION, None)
    return out


def is_stale(entity: dict[str, Any]) -> bool:
    return STALE_ANNOTATION in (entity.get("metadata", {}).get("annotations") or {})


def content_hashes(entities: Snapshot) -> frozenset[str]:
    """A snapshot's identity: the set of (ref, content hash) pairs."""
    return frozenset(f"{ref}@{serialize(body)[1]}" for ref, body in entities.items())


async def fresh_sync(url: str, state_dir: Path, overrides: dict[str, Any] | None = None) -> tuple[Snapshot, dict]:
    """What a brand-new daemon with an empty store makes of the API right now: (entities, index)."""
    harness = SyncHarness(url, state_dir, overrides)
    try:
        result = await harness.run()
        assert result.status == "ok", ("the reference sync itself failed", result.summary)
        return harness.entities(), harness.store.load_index()
    finally:
        await harness.close()


def read_store(path: Path) -> Snapshot:
    """The committed snapshot, read straight from the SQLite file (as a separate reader would)."""
    # Read-write: after a SIGKILL, the first reader may have to recover the WAL.
    conn = sqlite3.connect(path, timeout=10)
    try:
        rows = conn.execute("SELECT ref, body FROM entities").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}
        raise
    finally:
        conn.close()
    return {ref: json.loads(decode_body(body)) for ref, body in rows}  # compressed on SQLite


def reset_world(mock: MockOpenChoreo, spec: WorldSpec = SMALL) -> None:
    mock.state.attach_world(build_world(spec))
    mock.faults.reset()


# --- per-path INVALID_TOKEN on an auth-on mock -------------------------------------------------

_request_path: contextvars.ContextVar[str] = contextvars.ContextVar("mock_request_path", default="")


def install_path_token_rejection(mock: MockOpenChoreo) -> Callable[[str | None], None]:
    """Let a test make the mock's real JWT check answer INVALID_TOKEN on the paths matching a regex.

    Returns ``reject(regex_or_None)``. The mock's own 401 body (``{"error": "INVALID_TOKEN"}``) is
    sent, so the client goes through its real refresh-and-retry path before giving up.
    """
    stats, auth = mock.state.stats, mock.state.auth
    record, check = stats.record, auth.check
    target: list[re.Pattern[str] | None] = [None]

    def recording(method: str, path: str, query: str, authorization: str | None) -> int:
        _request_path.set(path)
        return record(method, path, query, authorization)

    def checking(authorization: str | None) -> str | None:
        pattern = target[0]
        if pattern is not None and pattern.search(_request_path.get()):
            return "INVALID_TOKEN"
        return check(authorization)

    stats.record = recording  # type: ignore[method-assign]
    auth.check = checking  # type: ignore[method-assign]

    def reject(regex: str | None) -> None:
        target[0] = re.compile(regex) if regex else None

    return reject
