"""Errors the read API answers with, named like Backstage's so clients can branch on ``error.name``."""

from __future__ import annotations


class CatalogError(Exception):
    """An error with an HTTP status and Backstage's error name (``InputError``, ``NotFoundError``...)."""

    status = 500
    name = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(CatalogError):
    """Bad query parameters or body: Backstage answers 400 ``InputError``."""

    status = 400
    name = "InputError"


class NotFoundError(CatalogError):
    """No such entity: Backstage answers 404 ``NotFoundError``."""

    status = 404
    name = "NotFoundError"


class SnapshotChurnError(CatalogError):
    """The snapshot changed under every attempt to read it consistently (commits arriving back to back)."""

    status = 503
    name = "ServiceUnavailableError"
