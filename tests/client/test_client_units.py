"""Pure helpers: error bodies, Retry-After, backoff, JWT expiry, path templates."""

from __future__ import annotations

import base64
import json
from email.utils import formatdate

import pytest

from openchoreo_sync.client import ApiError, path_template
from openchoreo_sync.client.auth import display_url, jwt_expiry, normalise_scope, usable_lifetime
from openchoreo_sync.client.errorbody import parse_error_body
from openchoreo_sync.client.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":"MISSING_TOKEN","message":"missing or invalid authentication token"}\n',
         ("MISSING_TOKEN", "missing or invalid authentication token")),
        (b'{"code":"NOT_FOUND","error":"Project not found"}', ("NOT_FOUND", "Project not found")),
        (b"Invalid format for parameter limit: abc\n", (None, "Invalid format for parameter limit: abc")),
        (b"404 page not found\n", (None, "404 page not found")),
        (b"", (None, "Bad Gateway")),
        (b'{"error":"SOMETHING_ODD"}', ("SOMETHING_ODD", "Bad Gateway")),
        (b'{"error":"plain words"}', (None, "plain words")),
        (b"[1, 2]", (None, "[1, 2]")),
    ],
)  # fmt: skip
def test_error_body_shapes(body: bytes, expected: tuple[str | None, str]) -> None:
    assert parse_error_body(body, "Bad Gateway") == expected


def test_error_body_is_shortened_to_one_line() -> None:
    code, message = parse_error_body(b"<html>\n" + b"x" * 1000 + b"\n</html>", "")
    assert code is None and len(message) == 300 and "\n" not in message


def test_api_error_str_and_repr() -> None:
    error = ApiError(what="projects for namespace a", method="GET", path="/p", status=403,
                     code="FORBIDDEN", message="no", hint="grant roles")  # fmt: skip
    assert str(error) == "Failed to fetch projects for namespace a: 403 Forbidden - no (FORBIDDEN); grant roles"
    assert repr(error) == "ApiError(method='GET', path='/p', status=403, code='FORBIDDEN', message='no')"


def test_retry_after_forms() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("5", now) == 5.0
    assert parse_retry_after(formatdate(now + 12, usegmt=True), now) == pytest.approx(12, abs=1)
    assert parse_retry_after(formatdate(now - 100, usegmt=True), now) == 0.0
    assert parse_retry_after("86400", now) == 30.0
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_doubles_with_full_jitter_and_a_ceiling() -> None:
    ceilings: list[float] = []

    def rand(low: float, high: float) -> float:
        ceilings.append(high)
        return high

    policy = RetryPolicy(retries=10, base=0.25, rand=rand)
    assert [policy.delay(n, None) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert policy.delay(20, None) == 30.0
    assert policy.delay(1, 4.0) == 4.0 and len(ceilings) == 4


def _jwt(claims: dict[str, object]) -> str:
    def enc(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'none'})}.{enc(claims)}.sig"


def test_jwt_expiry_read_without_verification() -> None:
    assert jwt_expiry(_jwt({"exp": 1_900_000_000})) == 1_900_000_000.0
    assert jwt_expiry(_jwt({"sub": "x"})) is None
    assert jwt_expiry(_jwt({"exp": True})) is None
    assert jwt_expiry("opaque-token") is None
    assert jwt_expiry("a.%%%.c") is None


def test_usable_lifetime_keeps_a_margin_but_never_goes_negative() -> None:
    assert usable_lifetime(3600) == 3540
    assert usable_lifetime(30) == 15
    assert usable_lifetime(0) == 0 and usable_lifetime(-5) == 0


def test_scope_and_url_cleaning() -> None:
    assert normalise_scope("  a \t b\n") == "a b"
    assert normalise_scope("   ") is None and normalise_scope(None) is None
    assert display_url("https://user:pw@idp.example:8443/oauth2/token?x=1") == "https://idp.example:8443/oauth2/token"


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v1/namespaces", "/api/v1/namespaces"),
        ("/api/v1/namespaces/acme", "/api/v1/namespaces/{namespace}"),
        ("/api/v1/namespaces/acme/components", "/api/v1/namespaces/{namespace}/components"),
        ("/api/v1/namespaces/a/traits/t/schema", "/api/v1/namespaces/{namespace}/traits/{name}/schema"),
        ("/api/v1/clustertraits/t1", "/api/v1/clustertraits/{name}"),
        ("/health", "/health"),
    ],
)  # fmt: skip
def test_path_templates(path: str, template: str) -> None:
    assert path_template(path) == template
