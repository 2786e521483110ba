"""Auth mode: token endpoint, bearer checks and the exact 401 bodies."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.testing.mockapi_fixtures import MockFactory, mock_openchoreo_factory  # noqa: F401

MISSING = b'{"error":"MISSING_TOKEN","message":"missing or invalid authentication token"}\n'
INVALID = b'{"error":"INVALID_TOKEN","message":"invalid or expired token"}\n'
API = "/api/v1/namespaces/default/components"


@pytest.fixture
def secured(mock_openchoreo_factory: MockFactory) -> MockOpenChoreo:  # noqa: F811
    return mock_openchoreo_factory(auth=True)


def _post_token(mock: MockOpenChoreo) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": mock.client_id,
        "client_secret": mock.client_secret,
    }
    return httpx.post(mock.token_url, data=form)


def test_auth_off_ignores_headers(mock_openchoreo_factory: MockFactory) -> None:  # noqa: F811
    mock = mock_openchoreo_factory()
    assert httpx.get(mock.url + API).status_code == 200
    assert httpx.get(mock.url + API, headers={"Authorization": "Bearer garbage"}).status_code == 200
    assert mock.stats.auth_headers[-1] == "Bearer garbage"


def test_token_client_secret_post_and_use(secured: MockOpenChoreo) -> None:
    resp = _post_token(secured)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    header_b64, payload_b64, _ = body["access_token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    assert "kid" in header
    assert claims["iss"] == secured.url and claims["sub"] == secured.client_id and claims["exp"] > time.time()
    for scheme in ("Bearer", "bearer", "BEARER"):
        ok = httpx.get(secured.url + API, headers={"Authorization": f"{scheme} {body['access_token']}"})
        assert ok.status_code == 200, scheme
    assert f"Bearer {body['access_token']}" in secured.stats.auth_headers


def test_token_client_secret_basic(secured: MockOpenChoreo) -> None:
    resp = httpx.post(
        secured.token_url,
        data={"grant_type": "client_credentials"},
        auth=(secured.client_id, secured.client_secret),
    )
    assert resp.status_code == 200 and resp.json()["access_token"].count(".") == 2


def test_token_errors(secured: MockOpenChoreo) -> None:
    wrong = httpx.post(
        secured.token_url,
        data={"grant_type": "client_credentials", "client_id": secured.client_id, "client_secret": "nope"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "error_description" in wrong.json()
    grant = httpx.post(secured.token_url, data={"grant_type": "password", "client_id": secured.client_id})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (None, MISSING),
        ("Basic abc", MISSING),
        ("Bearer", MISSING),
        ("Bearer not.a.jwt", INVALID),
        ("Bearer x", INVALID),
    ],
)
def test_rejections(secured: MockOpenChoreo, header: str | None, body: bytes) -> None:
    headers = {"Authorization": header} if header else {}
    resp = httpx.get(secured.url + API, headers=headers)
    assert (resp.status_code, resp.content) == (401, body)
    assert resp.headers["content-type"] == "application/json"


def test_public_routes_and_limit_parse_precede_auth(secured: MockOpenChoreo) -> None:
    for path in ("/health", "/ready", "/version", "/.well-known/oauth-protected-resource"):
        assert httpx.get(secured.url + path).status_code == 200
    meta = httpx.get(secured.url + "/.well-known/oauth-protected-resource").json()
    assert meta["openchoreo_security_enabled"] is True
    assert httpx.get(secured.url + API, params={"limit": "x"}).status_code == 400
    assert httpx.get(secured.url + "/api/v1/namespaces/default/components/api-service").status_code == 401


def test_token_expiry(mock_openchoreo_factory: MockFactory) -> None:  # noqa: F811
    mock = mock_openchoreo_factory(auth=True, token_lifetime=60)
    token = _post_token(mock).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(mock.url + API, headers=headers).status_code == 200
    real_clock = mock.auth.clock
    mock.auth.clock = lambda: real_clock() + 60  # exp is enforced with no leeway
    resp = httpx.get(mock.url + API, headers=headers)
    assert (resp.status_code, resp.content) == (401, INVALID)


def test_revoke_all_tokens(secured: MockOpenChoreo) -> None:
    token = secured.token()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(secured.url + API, headers=headers).status_code == 200
    assert httpx.post(secured.url + "/_mock/revoke-tokens").status_code == 204
    assert httpx.get(secured.url + API, headers=headers).content == INVALID
    fresh = {"Authorization": f"Bearer {secured.token()}"}
    assert httpx.get(secured.url + API, headers=fresh).status_code == 200
