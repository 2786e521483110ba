"""A stand-in for the IdP (Thunder) and for the API's JWT middleware.

Tokens are JWT-shaped (``kid`` header, ``iss``/``sub``/``exp``/``nbf``/``iat`` claims) and
HMAC-signed with a key the mock keeps; :meth:`Auth.revoke_all` rotates that key so every
outstanding token fails with INVALID_TOKEN, just as a key rollover at the IdP would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenRequestError(Exception):
    """An RFC 6749 error answer from the token endpoint."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class Auth:
    """Client credentials, token lifetime and the signing key of the mock IdP."""

    enabled: bool = False
    client_id: str = "openchoreo-catalog-sync"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    issuer: str = "http://127.0.0.1/oauth2/token"
    token_lifetime: int = 3600
    clock: Any = time.time
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _kid: str = field(default_factory=lambda: "mock-" + secrets.token_hex(4))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0

    def issue(self, form: dict[str, str], basic: tuple[str, str] | None, scope: str | None = None) -> dict[str, Any]:
        """Handle a client_credentials token request (client_secret_post or _basic)."""
        grant = form.get("grant_type")
        if grant is None:
            raise TokenRequestError(400, "invalid_request", "grant_type is required")
        if grant != "client_credentials":
            raise TokenRequestError(400, "unsupported_grant_type", f"grant type {grant!r} is not supported")
        cid, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
        if not (
            cid is not None
            and secret is not None
            and hmac.compare_digest(cid, self.client_id)
            and hmac.compare_digest(secret, self.client_secret)
        ):
            raise TokenRequestError(401, "invalid_client", "Client authentication failed")
        now = int(self.clock())
        with self._lock:
            self.issued += 1
            claims = {
                "iss": self.issuer,
                "sub": self.client_id,
                "aud": "openchoreo-api",
                "iat": now,
                "nbf": now,
                "exp": now + self.token_lifetime,
                "jti": f"{self.issued}-{secrets.token_hex(4)}",
            }
            token = self._sign(claims)
        out: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
        }
        if scope:
            out["scope"] = scope
        return out

    def _sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": self._kid}
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        sig = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(sig)

    def check(self, authorization: str | None) -> str | None:
        """None when the header carries a valid token, else MISSING_TOKEN or INVALID_TOKEN."""
        if not authorization or len(authorization) < 7 or authorization[:7].lower() != "bearer ":
            return "MISSING_TOKEN"
        token = authorization[7:].strip()
        parts = token.split(".")
        if len(parts) != 3:
            return "INVALID_TOKEN"
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            sig = _unb64(parts[2])
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return "INVALID_TOKEN"
        with self._lock:
            key, kid = self._key, self._kid
        if not isinstance(header, dict) or header.get("kid") != kid or not isinstance(claims, dict):
            return "INVALID_TOKEN"
        expected = hmac.new(key, (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(sig, expected):
            return "INVALID_TOKEN"
        now = self.clock()
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or now >= exp or not isinstance(nbf, int | float) or now < nbf:
            return "INVALID_TOKEN"
        if claims.get("iss") != self.issuer:
            return "INVALID_CLAIMS"
        return None

    def revoke_all(self) -> None:
        """Rotate the signing key: every token issued so far becomes INVALID_TOKEN."""
        with self._lock:
            self._key = secrets.token_bytes(32)
            self._kid = "mock-" + secrets.token_hex(4)
