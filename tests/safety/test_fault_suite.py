"""Every collection the daemon fetches x every fault: a fault may delay an update, never delete data.

For each (collection, fault): a good run; then the world changes both inside the collection and
elsewhere, and the next run meets the fault on that collection only. That run must leave every
entity of the collection in place (carried forward, marked stale, content as before) and apply the
world's change everywhere else exactly as a fresh sync would; the run after the fault must converge
to a fresh sync of the mock's truth. Mocks are shared per module (a fresh small world per case).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from safety_helpers import (
    FAST_CLIENT,
    SMALL,
    bare,
    fresh_sync,
    install_path_token_rejection,
    is_stale,
    reset_world,
)

from openchoreo_sync.mockapi import MockOpenChoreo, build_world
from openchoreo_sync.testing.harness import SyncHarness, deep_merge

NS = build_world(SMALL).namespaces()[0]
FAMILIES_NEEDING_NAMESPACES = ("namespaces", "components", "component_types", "platform_planes", "templates")
TEMPLATE_SOURCES = {"componenttypes", "projecttypes", "resourcetypes"}
"""Lists the ``templates`` family walks too: a fault there also holds its Templates."""


@dataclass(frozen=True)
class Target:
    """One list endpoint the families walk, and the catalog collections built from it."""

    segment: str
    scope: str  # root | namespace | cluster
    affected: tuple[str, ...]  # collection keys whose entities depend on this endpoint

    @property
    def path(self) -> str:
        if self.scope == "namespace":
            return f"/api/v1/namespaces/{NS}/{self.segment}"
        return f"/api/v1/{self.segment}"

    @property
    def regex(self) -> str:
        return "^" + re.escape(self.path) + "$"

    @property
    def world_namespace(self) -> str:
        return NS if self.scope == "namespace" else ""


def _ns(family: str, name: str) -> str:
    return f"{family}:{NS}/{name}"


def _cluster(family: str, name: str) -> str:
    return f"{family}:cluster/{name}"


TARGETS: tuple[Target, ...] = (
    Target("namespaces", "root", ()),  # every namespaced family fails as a whole
    Target("projects", "namespace", tuple(_ns("components", n) for n in ("projects", "components", "resources"))),
    Target("components", "namespace", (_ns("components", "components"),)),
    Target("workloads", "namespace", (_ns("components", "components"),)),
    Target("resources", "namespace", (_ns("components", "resources"),)),
    Target("environments", "namespace", (_ns("namespaces", "environments"),)),
    Target("deploymentpipelines", "namespace", (_ns("namespaces", "deploymentpipelines"),)),
    Target("observabilityalertsnotificationchannels", "namespace", (_ns("namespaces", "notificationchannels"),)),
    *(
        Target(s, "namespace", (_ns("component_types", s), *((_ns("templates", s),) if s in TEMPLATE_SOURCES else ())))
        for s in ("componenttypes", "traits", "workflows", "projecttypes", "resourcetypes")
    ),
    *(
        Target(s, "namespace", (_ns("platform_planes", s),))
        for s in ("dataplanes", "workflowplanes", "observabilityplanes")
    ),
    *(
        Target(
            s,
            "cluster",
            (_cluster("cluster_kinds", s), *((_cluster("templates", s),) if s[7:] in TEMPLATE_SOURCES else ())),
        )
        for s in (
            "clustercomponenttypes",
            "clustertraits",
            "clusterworkflows",
            "clusterprojecttypes",
            "clusterresourcetypes",
        )
    ),
    *(
        Target(s, "cluster", (_cluster("platform_planes", s),))
        for s in ("clusterdataplanes", "clusterworkflowplanes", "clusterobservabilityplanes")
    ),
)
FAULTS = ("http500", "timeout", "reset", "malformed", "unauthorized")

AUTH_SECRET = "fault-suite-client-secret-not-a-canary"


@pytest.fixture(scope="module")
def plain_mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(SMALL) as mock:
        yield mock


@pytest.fixture(scope="module")
def auth_mock() -> Iterator[tuple[MockOpenChoreo, object]]:
    with MockOpenChoreo(SMALL, auth=True, client_secret=AUTH_SECRET) as mock:
        yield mock, install_path_token_rejection(mock)


def _auth_overrides(mock: MockOpenChoreo) -> dict:
    return {
        "openchoreo": {
            "features": {"auth": {"enabled": True}},
            "auth": {
                "clientId": mock.client_id,
                "clientSecret": mock.client_secret,
                "tokenUrl": mock.token_url,
            },
        }
    }


def _affected(target: Target, index: dict) -> set[str]:
    if target.scope == "root":
        return {e.collection for e in index.values() if e.family in FAMILIES_NEEDING_NAMESPACES}
    return set(target.affected)


def _change_elsewhere(mock: MockOpenChoreo, affected: set[str]) -> None:
    """Add, update and delete in a collection the fault does not touch."""
    if _ns("namespaces", "environments") not in affected:
        collection, namespace = "environments", NS
    else:
        collection, namespace = "clusterworkflows", ""
    items = mock.world.items(collection, namespace)
    assert len(items) >= 3, (collection, len(items))
    added = copy.deepcopy(items[0])
    added["metadata"] = {"name": "safety-added", "annotations": {"openchoreo.dev/display-name": "Added"}}
    mock.world.put(collection, namespace, added)
    updated = items[1]
    updated["metadata"].setdefault("annotations", {})["openchoreo.dev/description"] = "changed during the fault"
    mock.world.put(collection, namespace, updated)
    assert mock.world.delete(collection, namespace, items[2]["metadata"]["name"])


def _change_inside(mock: MockOpenChoreo, target: Target) -> None:
    """Change the faulted collection too: none of it may show before the collection is read again."""
    if target.scope == "root":
        mock.world.put("namespaces", "", {"metadata": {"name": "safety-new-ns"}})
        return
    items = mock.world.items(target.segment, target.world_namespace)
    if items:
        mock.world.delete(target.segment, target.world_namespace, items[0]["metadata"]["name"])
        clone = copy.deepcopy(items[0])
        clone["metadata"] = {**clone["metadata"], "name": "safety-inside"}
        clone["metadata"].pop("uid", None)
        mock.world.put(target.segment, target.world_namespace, clone)


def _inject(fault: str, mock: MockOpenChoreo, reject, target: Target) -> None:
    if fault == "http500":
        mock.faults.fail(target.regex, 500)
    elif fault == "timeout":
        mock.faults.add(path=target.regex, action="timeout", hang_seconds=10)
    elif fault == "reset":
        mock.faults.add(path=target.regex, action="reset")
    elif fault == "malformed":
        mock.faults.add(path=target.regex, action="malformed")
    elif fault == "unauthorized":
        reject(target.regex)
    else:  # pragma: no cover - a typo in FAULTS
        raise AssertionError(fault)


def _clear(mock: MockOpenChoreo, reject) -> None:
    mock.faults.reset()
    if reject is not None:
        reject(None)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.segment)
async def test_fault_on_one_collection_delays_never_deletes(
    target: Target, fault: str, plain_mock, auth_mock, tmp_path: Path
):
    if fault == "unauthorized":
        mock, reject = auth_mock
        overrides = deep_merge(FAST_CLIENT, _auth_overrides(mock))
    else:
        mock, reject = plain_mock, None
        overrides = FAST_CLIENT
    reset_world(mock)
    if reject is not None:
        reject(None)
    harness = SyncHarness(mock.url, tmp_path / "daemon", overrides)
    try:
        first = await harness.run()
        assert first.status == "ok", first.summary
        before = harness.entities()
        index_before = harness.store.load_index()
        affected = _affected(target, index_before)
        held = {ref for ref, entry in index_before.items() if entry.collection in affected}
        assert held, f"{target.segment}: the small world must hold entities from the faulted collection"

        _change_elsewhere(mock, affected)
        _change_inside(mock, target)
        _inject(fault, mock, reject, target)
        try:
            faulted = await harness.run()
        finally:
            _clear(mock, reject)

        # The run knew exactly what failed.
        assert faulted.status == "partial", faulted.summary
        if target.scope == "root":
            assert set(faulted.summary["failed_families"]) == set(FAMILIES_NEEDING_NAMESPACES), faulted.summary
            assert faulted.summary["failed_collections"] == {}
        else:
            assert set(faulted.summary["failed_collections"]) == affected, faulted.summary
            assert faulted.summary["failed_families"] == {}
        assert faulted.summary["changes"]["removed"] == 0 or not (set(faulted.summary["removed"]) & held)

        during = harness.entities()
        truth, truth_index = await fresh_sync(mock.url, tmp_path / "truth-during", overrides)

        # Nothing of the faulted collection is removed: carried forward unchanged, marked stale.
        missing = held - set(during)
        assert not missing, f"entities of a failed collection were deleted: {sorted(missing)}"
        for ref in held:
            assert is_stale(during[ref]), f"{ref} carried forward without the stale mark"
            assert bare(during[ref]) == bare(before[ref]), f"{ref} changed although its collection failed"

        # Everything else follows the world exactly as a fresh sync does.
        outside_truth = {ref for ref, e in truth_index.items() if e.collection not in affected}
        outside_now = set(during) - held
        assert outside_now == outside_truth, {
            "unexpected": sorted(outside_now - outside_truth),
            "missing": sorted(outside_truth - outside_now),
        }
        for ref in outside_truth:
            assert not is_stale(during[ref]), ref
            assert bare(during[ref]) == bare(truth[ref]), f"{ref} differs from the world outside the fault"

        # The next good run converges to the truth, relations and all.
        healed = await harness.run()
        assert healed.status == "ok", healed.summary
        assert harness.entities() == truth
    finally:
        await harness.close()


async def test_targets_cover_every_list_path_the_daemon_walks(plain_mock, tmp_path: Path):
    """The parametrization is complete: it names every list endpoint a run requests, and no other."""
    reset_world(plain_mock)
    plain_mock.stats.reset()
    harness = SyncHarness(plain_mock.url, tmp_path / "daemon", FAST_CLIENT)
    try:
        assert (await harness.run()).status == "ok"
    finally:
        await harness.close()
    requested = {r.path for r in plain_mock.stats.records if r.path.startswith("/api/")}
    schema_calls = {path for path in requested if path.endswith("/schema")}
    assert requested - schema_calls == {t.path for t in TARGETS}
    # Besides the lists, exactly one /schema GET per component and resource type (for its Template).
    typed = [t for t in TARGETS if t.segment.removeprefix("cluster") in {"componenttypes", "resourcetypes"}]
    assert schema_calls == {
        f"{t.path}/{body['metadata']['name']}/schema"
        for t in typed
        for body in plain_mock.world.items(t.segment, t.world_namespace)
    }
    assert schema_calls


async def test_token_revoked_mid_walk_is_survived(auth_mock, tmp_path: Path):
    """A key rollover at the IdP while a run walks: the client refreshes once, nothing fails."""
    mock, reject = auth_mock
    reset_world(mock)
    reject(None)
    harness = SyncHarness(mock.url, tmp_path / "daemon", deep_merge(FAST_CLIENT, _auth_overrides(mock)))
    try:
        assert (await harness.run()).status == "ok"
        before = harness.entities()
        seen = mock.stats.count()
        revoke_at = seen + 8  # a few requests into the next walk

        record = mock.state.stats.record

        def revoking(method: str, path: str, query: str, authorization: str | None) -> int:
            seq = record(method, path, query, authorization)
            if seq == revoke_at:
                mock.auth.revoke_all()
            return seq

        mock.state.stats.record = revoking  # type: ignore[method-assign]
        try:
            result = await harness.run()
        finally:
            mock.state.stats.record = record  # type: ignore[method-assign]
        assert mock.stats.count() > revoke_at, "the revocation never happened"
        assert result.status == "ok", result.summary
        assert harness.entities() == before
    finally:
        await harness.close()
