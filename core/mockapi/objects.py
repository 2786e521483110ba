"""Small builders for the common parts of OpenChoreo objects (metadata, conditions).

Generation builds tens of thousands of objects per second, so these are plain dict
literals with no validation; the key order follows the Go structs the server marshals.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .kinds import API_VERSION

Obj = dict[str, Any]
BASE_TIME = datetime(2025, 1, 6, 10, 0, 0, tzinfo=UTC)


def ts(offset_seconds: int) -> str:
    """RFC 3339 timestamp ``offset_seconds`` after the world's fixed epoch."""
    return (BASE_TIME + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Ids:
    """Deterministic uids and timestamps drawn from the world's seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self, step: int = 7) -> str:
        self.clock += step
        return ts(self.clock)


def meta(
    name: str,
    namespace: str | None,
    uid: str,
    created: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    deleting: str | None = None,
) -> Obj:
    """ObjectMeta with only the fields the API returns (no resourceVersion etc.)."""
    m: Obj = {"name": name}
    if namespace is not None:
        m["namespace"] = namespace
    m["uid"] = uid
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    m["creationTimestamp"] = created
    if deleting:
        m["deletionTimestamp"] = deleting
        m["deletionGracePeriodSeconds"] = 0
    return m


def cond(ctype: str, ok: bool | None, reason: str, message: str, when: str, generation: int = 1) -> Obj:
    """A Kubernetes condition; ``ok=None`` gives status Unknown."""
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return {
        "type": ctype,
        "status": status,
        "observedGeneration": generation,
        "lastTransitionTime": when,
        "reason": reason,
        "message": message,
    }


def obj(kind: str, metadata: Obj, spec: Obj, status: Obj | None = None) -> Obj:
    """A complete OpenChoreo CR as the API returns it."""
    out: Obj = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
    if status is not None:
        out["status"] = status
    return out


def named(display: str | None = None, description: str | None = None, owner: str | None = None) -> dict[str, str]:
    """The display-name / description / backstage owner annotations, only those given."""
    ann: dict[str, str] = {}
    if display is not None:
        ann["openchoreo.dev/display-name"] = display
    if description is not None:
        ann["openchoreo.dev/description"] = description
    if owner is not None:
        ann["backstage.io/owner"] = owner
    return ann
