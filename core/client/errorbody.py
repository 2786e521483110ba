"""Reads an error response body into ``(code, message)``, whatever shape the server chose.

The OpenChoreo API uses two JSON shapes (see the API reference, section 3): the JWT middleware
sends ``{"error": "<CODE>", "message": "<text>"}`` and handlers send
``{"error": "<text>", "code": "<CODE>"}``. Routing and parameter errors are text/plain. The
official client prints the raw JSON for the first shape; we name the code and the message.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..logs import redact_text

_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_MAX_TEXT = 300


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def shorten(text: str, limit: int = _MAX_TEXT) -> str:
    """One line, at most ``limit`` characters: bodies can be whole HTML pages from a proxy.

    Secrets are masked before cutting: a cut could leave a prefix of a token no pattern recognises.
    """
    flat = " ".join(redact_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_error_body(body: bytes, reason: str) -> tuple[str | None, str]:
    """``(code, message)`` of an error response; ``reason`` is the fallback message."""
    raw = body.decode("utf-8", errors="replace").strip()
    if not raw:
        return None, reason or "empty response body"
    try:
        data = json.loads(raw)
    except ValueError:
        return None, shorten(raw)
    if not isinstance(data, dict):
        return None, shorten(raw)
    error, code, message = _text(data.get("error")), _text(data.get("code")), _text(data.get("message"))
    if code:  # handler shape: {error: message, code: CODE}
        return code, shorten(error or message or reason)
    if error and message:  # auth middleware shape: {error: CODE, message}
        return error, shorten(message)
    if error:
        return (error, reason) if _CODE.match(error) else (None, shorten(error))
    if message:
        return None, shorten(message)
    return None, shorten(raw)
