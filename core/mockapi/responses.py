"""Response bodies shaped exactly like the Go server's (encoding/json, http.Error).

Go's ``json.Encoder`` writes compact JSON, escapes ``<``, ``>`` and ``&``, and ends with a
newline; ``http.Error`` writes text/plain with ``nosniff``. Clients parse these bytes, so
the mock reproduces them rather than Starlette's defaults.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(data: Any) -> bytes:
    """Serialise like Go's json.Encoder.Encode."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if any(ch in text for ch in _GO_ESCAPES):
        for ch, esc in _GO_ESCAPES.items():
            text = text.replace(ch, esc)
    return (text + "\n").encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(go_json(data), status_code=status, media_type="application/json", headers=headers)


def text_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """Go's http.Error: text/plain, nosniff, message plus newline."""
    h = {"X-Content-Type-Options": "nosniff", **(headers or {})}
    return Response((message + "\n").encode(), status_code=status, media_type="text/plain; charset=utf-8", headers=h)


def api_error(code: str, message: str, status: int) -> Response:
    """The handlers' ErrorResponse body (code first, as the server emits it)."""
    return json_response({"code": code, "error": message}, status)


def not_found(kind: str) -> Response:
    return api_error("NOT_FOUND", f"{kind} not found", 404)


def internal_error() -> Response:
    return api_error("INTERNAL_ERROR", "Internal server error", 500)


def page_not_found() -> Response:
    return text_error("404 page not found", 404)


def method_not_allowed() -> Response:
    return text_error("Method Not Allowed", 405)


def auth_error(code: str, message: str, status: int = 401) -> Response:
    """The JWT middleware's body: ``{"error": CODE, "message": ...}`` (not ErrorResponse)."""
    return json_response({"error": code, "message": message}, status)


MISSING_TOKEN = ("MISSING_TOKEN", "missing or invalid authentication token")
INVALID_TOKEN = ("INVALID_TOKEN", "invalid or expired token")
