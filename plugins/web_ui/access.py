"""The pages take the server's token like every other route, and a browser can hold it in a cookie.

A browser cannot send a bearer header when following a link, so the first visit without one shows
a form where the operator pastes ``openchoreo.server.token`` once; it is kept in an HttpOnly,
SameSite=Strict cookie scoped to the pages' path. Scripts may keep sending ``Authorization``.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.requests import Request

from openchoreo_sync.kit import SyncContext
from openchoreo_sync.kit.http import token_matches

COOKIE = "openchoreo_sync_ui_token"
MAX_FORM_BYTES = 4096


def server_token(ctx: SyncContext) -> str | None:
    token = ctx.config.openchoreo.server.token
    return token.get_secret_value() if token is not None else None


def authorized(request: Request, expected: str | None) -> bool:
    if not expected:
        return True
    if token_matches(request.headers.get("authorization"), expected):
        return True
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and hmac.compare_digest(cookie.encode(), expected.encode())


async def submitted_token(request: Request) -> str:
    """The ``token`` field of the login form (URL-encoded; a larger body is not a login)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return ""
    values = parse_qs(body.decode("utf-8", "replace")).get("token", [""])
    return values[0].strip()


def safe_next(target: str, base_path: str) -> str:
    """Only redirect back into the pages, never to another site."""
    return target if target.startswith(base_path) and not target.startswith("//") else base_path
