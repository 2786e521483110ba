"""Errors of the OpenChoreo client: each names the call, the path and what to do about it.

Plugins catch ``ApiError`` per collection; the CLI prints ``str(error)``. No error here ever carries
a token or the client secret: requests are described by method and path only.
"""

from __future__ import annotations

from http import HTTPStatus

from ..errors import SyncError
from ..logs import redact_text

_AUTH_OFF_HINT = (
    "the cluster runs with auth on, but openchoreo.features.auth.enabled is false here; "
    "set openchoreo.features.auth.enabled: true and openchoreo.auth.clientId, clientSecret and "
    "tokenUrl so that they match how the cluster was deployed"
)


def reason_phrase(status: int) -> str:
    """``Unauthorized`` for 401; empty for codes the standard library does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class ApiError(SyncError):
    """A call to the OpenChoreo API failed (HTTP error, connection failure, or bad response).

    ``status`` is None when no HTTP response was received at all. ``code`` is the server's error
    code (``MISSING_TOKEN``, ``NOT_FOUND``...) when it sent one. ``hint`` says what to change.
    """

    def __init__(
        self,
        *,
        what: str,
        method: str,
        path: str,
        status: int | None,
        message: str,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = redact_text(message)  # error bodies may echo a token or the client secret
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        if self.status is None:
            text = f"Failed to fetch {self.what}: {self.message}"
        else:
            head = f"{self.status} {reason_phrase(self.status)}".rstrip()
            text = f"Failed to fetch {self.what}: {head} - {self.message}"
        if self.code:
            text += f" ({self.code})"
        if self.hint:
            text += f"; {self.hint}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(method={self.method!r}, path={self.path!r}, "
            f"status={self.status!r}, code={self.code!r}, message={self.message!r})"
        )


class MalformedResponseError(ApiError):
    """The API answered 2xx but the body is not the expected ``{items, pagination}`` JSON shape."""


class ResponseTooLargeError(ApiError):
    """The body exceeded ``openchoreo.client.maxResponseBytes``; reading stopped at the limit."""


class PaginationError(ApiError):
    """A list walk did not end: the cursor repeated or ``openchoreo.client.maxPages`` was reached."""


class TokenError(SyncError):
    """The OAuth2 token endpoint did not issue a token.

    Carries the endpoint URL (never the secret) and the RFC 6749 ``error`` and
    ``error_description`` when the endpoint sent them. The client never falls back to calling
    the API without a token: that would only turn this clear error into a confusing 401.
    """

    def __init__(
        self,
        *,
        token_url: str,
        message: str,
        status: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        self.token_url = token_url
        self.status = status
        self.error = error
        self.error_description = redact_text(error_description) if error_description else error_description
        self.message = redact_text(message)
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"Token request to {self.token_url} failed: "
        if self.status is not None:
            text += f"{self.status} {reason_phrase(self.status)}".rstrip() + " - "
        if self.error:
            text += self.error + (f": {self.error_description}" if self.error_description else "")
        else:
            text += self.message
        if self.error == "invalid_client":
            text += "; check openchoreo.auth.clientId and openchoreo.auth.clientSecret"
        elif self.error == "invalid_scope":
            text += "; check openchoreo.auth.scope"
        return text

    def __repr__(self) -> str:
        return f"TokenError(token_url={self.token_url!r}, status={self.status!r}, error={self.error!r})"


def auth_off_hint() -> str:
    """The hint added when the API asks for a token that our configuration says is not needed."""
    return _AUTH_OFF_HINT
