"""``probe`` and ``format_probe`` against the mock API in each auth combination."""

from __future__ import annotations

from client_helpers import make_config

from openchoreo_sync.client import ProbeResult, format_probe, probe
from openchoreo_sync.testing.mockapi_fixtures import MockFactory


def by_name(results: list[ProbeResult]) -> dict[str, ProbeResult]:
    return {r.name: r for r in results}


async def test_auth_off_everywhere(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory()
    results = by_name(await probe(make_config(mock.url)))
    assert list(results) == ["auth mode", "list namespaces"]
    assert all(r.ok for r in results.values())
    assert results["auth mode"].detail == "the API enforces auth: off, as configured"


async def test_auth_on_everywhere(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory(auth=True)
    results = by_name(await probe(make_config(mock.url, mock=mock, auth=True)))
    assert list(results) == ["auth mode", "token endpoint", "list namespaces"]
    assert all(r.ok for r in results.values()), results
    assert results["token endpoint"].detail == f"{mock.token_url} issued a token"
    assert mock.stats.count("/oauth2/token") == 1
    assert [r.query for r in mock.stats.records if r.path == "/api/v1/namespaces"] == ["limit=1"]


async def test_cluster_enforces_auth_but_config_has_it_off(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory(auth=True)
    results = by_name(await probe(make_config(mock.url)))
    assert not results["auth mode"].ok
    assert "openchoreo.features.auth.enabled" in results["auth mode"].detail
    assert not results["list namespaces"].ok and "MISSING_TOKEN" in results["list namespaces"].detail


async def test_missing_token_hint_without_the_metadata_route(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory(auth=True)
    mock.faults.fail(r"oauth-protected-resource", status=404)
    results = await probe(make_config(mock.url))
    assert [(r.name, r.ok) for r in results] == [("auth mode", False), ("list namespaces", False)]
    assert "the cluster runs with auth on" in results[0].detail


async def test_config_has_auth_on_but_cluster_does_not(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory(auth=False)
    results = by_name(await probe(make_config(mock.url, mock=mock, auth=True)))
    assert not results["auth mode"].ok and "runs with auth off" in results["auth mode"].detail
    assert results["list namespaces"].ok


async def test_bad_client_secret(mock_openchoreo_factory: MockFactory) -> None:
    mock = mock_openchoreo_factory(auth=True)
    results = by_name(await probe(make_config(mock.url, mock=mock, auth=True, secret="nope")))
    assert not results["token endpoint"].ok and "invalid_client" in results["token endpoint"].detail
    assert results["list namespaces"] == ProbeResult("list namespaces", False, "skipped: no token")
    assert mock.stats.count("/api/v1/namespaces") == 0


async def test_unreachable_api() -> None:
    results = await probe(make_config("http://127.0.0.1:9"))
    assert [(r.name, r.ok) for r in results] == [("list namespaces", False)]
    assert "connection failed" in results[0].detail


def test_format_probe() -> None:
    text = format_probe([ProbeResult("auth mode", True, "fine"), ProbeResult("list namespaces", False, "bad")])
    assert text.splitlines() == [
        "ok    auth mode        fine",
        "FAIL  list namespaces  bad",
        "1 of 2 checks failed",
    ]
    assert format_probe([ProbeResult("x", True, "y")]).endswith("all checks passed")
