"""OAuth2 client credentials against the mock IdP and the mock API's JWT check."""

from __future__ import annotations

import asyncio

import pytest
from client_helpers import FakeClock, make_config

from openchoreo_sync.client import ApiError, OpenChoreoClient, TokenError
from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.testing.mockapi_fixtures import MockFactory

NS = "/api/v1/namespaces"
TOKEN = "/oauth2/token"


@pytest.fixture
def auth_mock(mock_openchoreo_factory: MockFactory, fake_clock: FakeClock) -> MockOpenChoreo:
    mock = mock_openchoreo_factory(namespaces=1, projects=1, components=1, auth=True)
    mock.auth.clock = fake_clock
    return mock


def bearer_headers(mock: MockOpenChoreo) -> list[str | None]:
    return [r.authorization for r in mock.stats.records if r.path.startswith("/api/")]


async def test_token_fetched_once_and_cached(auth_mock: MockOpenChoreo, fake_clock: FakeClock) -> None:
    config = make_config(auth_mock.url, mock=auth_mock, auth=True)
    async with OpenChoreoClient(config, clock=fake_clock) as client:
        first = await client.list_all(NS, what="namespaces")
        await client.list_all(NS, what="namespaces")
        await client.get(f"{NS}/default", what="namespace default")
    assert first
    assert client.stats.token_requests == 1 and auth_mock.stats.count(TOKEN) == 1
    headers = bearer_headers(auth_mock)
    assert len(headers) == 3 and len(set(headers)) == 1
    assert headers[0] is not None and headers[0].startswith("Bearer ey")


async def test_concurrent_callers_share_one_token_fetch(auth_mock: MockOpenChoreo, fake_clock: FakeClock) -> None:
    config = make_config(auth_mock.url, mock=auth_mock, auth=True)
    async with OpenChoreoClient(config, clock=fake_clock) as client:
        await asyncio.gather(*(client.list_all(NS, what="namespaces") for _ in range(10)))
    assert auth_mock.stats.count(TOKEN) == 1
    assert client.stats.requests == 10


async def test_token_refreshed_before_expiry(auth_mock: MockOpenChoreo, fake_clock: FakeClock) -> None:
    config = make_config(auth_mock.url, mock=auth_mock, auth=True)
    async with OpenChoreoClient(config, clock=fake_clock) as client:
        await client.list_all(NS, what="namespaces")
        fake_clock.advance(3600 - 61)  # still more than the 60 s margin left
        await client.list_all(NS, what="namespaces")
        assert auth_mock.stats.count(TOKEN) == 1
        fake_clock.advance(2)  # inside the margin: replaced before the API would refuse it
        await client.list_all(NS, what="namespaces")
    assert auth_mock.stats.count(TOKEN) == 2
    assert auth_mock.stats.by_path[NS] == 3  # no request was refused on the way
    assert len(set(bearer_headers(auth_mock))) == 2


async def test_invalid_token_is_refetched_exactly_once(auth_mock: MockOpenChoreo, fake_clock: FakeClock) -> None:
    config = make_config(auth_mock.url, mock=auth_mock, auth=True)
    async with OpenChoreoClient(config, clock=fake_clock) as client:
        await client.list_all(NS, what="namespaces")
        auth_mock.auth.revoke_all()  # IdP key rollover: the cached token is now INVALID_TOKEN
        items = await asyncio.gather(*(client.list_all(NS, what="namespaces") for _ in range(3)))
    assert all(items)
    assert auth_mock.stats.count(TOKEN) == 2
    assert client.stats.requests == 1 + 3 + 3  # each refused request is sent once more


async def test_token_refused_again_after_refetch_fails(
    mock_openchoreo_factory: MockFactory,
) -> None:
    mock = mock_openchoreo_factory(namespaces=0, projects=0, components=0, auth=True, token_lifetime=0)
    async with OpenChoreoClient(make_config(mock.url, mock=mock, auth=True)) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(NS, what="namespaces")
    assert caught.value.status == 401 and caught.value.code == "INVALID_TOKEN"
    assert "freshly issued token was rejected too" in str(caught.value)
    assert mock.stats.count(TOKEN) == 2 and mock.stats.count(NS) == 2


async def test_auth_off_sends_no_authorization_header(mock_openchoreo: MockOpenChoreo) -> None:
    async with OpenChoreoClient(make_config(mock_openchoreo.url)) as client:
        assert client.tokens is None
        assert await client.list_all(NS, what="namespaces")
    assert bearer_headers(mock_openchoreo) == [None]
    assert mock_openchoreo.stats.count(TOKEN) == 0


async def test_missing_token_names_the_auth_setting(auth_mock: MockOpenChoreo) -> None:
    async with OpenChoreoClient(make_config(auth_mock.url)) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(NS, what="namespaces")
    error = caught.value
    assert (error.status, error.code, error.path, error.method) == (401, "MISSING_TOKEN", NS, "GET")
    assert str(error).startswith(
        "Failed to fetch namespaces: 401 Unauthorized - missing or invalid authentication token "
        "(MISSING_TOKEN); the cluster runs with auth on"
    )
    assert "openchoreo.features.auth.enabled" in str(error) and "openchoreo.auth." in str(error)


async def test_invalid_client_is_surfaced_and_api_not_called(auth_mock: MockOpenChoreo) -> None:
    config = make_config(auth_mock.url, mock=auth_mock, auth=True, secret="wrong-secret")
    async with OpenChoreoClient(config) as client:
        with pytest.raises(TokenError) as caught:
            await client.list_all(NS, what="namespaces")
    error = caught.value
    assert (error.status, error.error) == (401, "invalid_client")
    assert error.error_description == "Client authentication failed"
    assert error.token_url == auth_mock.token_url
    assert str(error) == (
        f"Token request to {auth_mock.token_url} failed: 401 Unauthorized - invalid_client: "
        "Client authentication failed; check openchoreo.auth.clientId and openchoreo.auth.clientSecret"
    )
    assert auth_mock.stats.count(NS) == 0  # never downgraded to an unauthenticated call


async def test_token_form_is_client_credentials_with_normalised_scope(
    auth_mock: MockOpenChoreo,
) -> None:
    seen: list[dict[str, str]] = []
    issue = auth_mock.auth.issue

    def spy(form: dict[str, str], basic: tuple[str, str] | None, scope: str | None = None) -> dict[str, object]:
        seen.append(dict(form))
        return issue(form, basic, scope)

    auth_mock.auth.issue = spy  # type: ignore[method-assign]
    config = make_config(auth_mock.url, mock=auth_mock, auth=True)
    config = config.model_copy(update={"auth": config.auth.model_copy(update={"scope": "  openid \n  sync  "})})
    async with OpenChoreoClient(config) as client:
        await client.list_all(NS, what="namespaces")
    assert seen == [
        {
            "grant_type": "client_credentials",
            "client_id": auth_mock.client_id,
            "client_secret": auth_mock.client_secret,
            "scope": "openid sync",
        }
    ]
