"""Logging: structlog, human-readable on a terminal and JSON lines otherwise.

Every line of a run carries its ``run_id`` (bound through contextvars), and every value passes a
redactor, so a secret that reached a log call by accident is still masked.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections import deque
from collections.abc import Iterator, MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(secret|token|password|authorization|dsn|api[-_]?key|credential)", re.IGNORECASE)
_NOT_SECRET_KEYS = frozenset({"token_url", "tokenUrl", "tokenurl"})
_BEARER = re.compile(r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
"""A JSON Web Token (header and payload are base64url JSON objects, so both start ``eyJ``)."""
_PASSWORD_PAIR = re.compile(r"(\b(?:password|passwd|client_secret|secret)\s*[=:]\s*)[^\s&,;\"']+", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_MAX_DEPTH = 12
_known_secrets: set[str] = set()
_issued: deque[str] = deque(maxlen=8)
"""The latest access tokens this process obtained (they rotate: only the recent ones matter)."""


def register_issued_token(value: str) -> None:
    """Remember an access token issued at run time, so an error body echoing it is masked."""
    if value and len(value) >= 8 and value not in _issued:
        _issued.append(value)


def register_secret(value: str | None) -> None:
    """Remember a secret value so any log line containing it is masked, whatever its key."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def redact_text(text: str) -> str:
    """``text`` with every registered secret, bearer token, JWT and ``password=...`` masked."""
    for secret in sorted({*_known_secrets, *_issued}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    text = _JWT.sub("***", text)
    return _PASSWORD_PAIR.sub(r"\1***", text)


def _secret_key(key: str) -> bool:
    """A field named like a secret (``clientSecret``, ``authorization``), not data that mentions one."""
    return bool(_IDENTIFIER.fullmatch(key) and _SECRET_KEYS.search(key)) and key not in _NOT_SECRET_KEYS


def redact_value(value: Any, key: str = "", depth: int = 0) -> Any:
    """A copy of a JSON-like value with secrets masked at any depth: by key name and by content.

    For everything that leaves the process or is stored: log values, run records, ``status``.
    """
    if isinstance(value, str) and value and _secret_key(key):
        return "***"
    if depth > _MAX_DEPTH:
        return "<nested too deeply>"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    if isinstance(value, dict):
        return {k: redact_value(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, key, depth + 1) for v in value]
    return value


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = redact_value(value, key)
    return event


MAX_HELD_LINES = 1000
"""Lines one held-back run may keep; past that they are printed after all, and the rest live (a run
that logs so much is news, whether or not it fails as the one before)."""


class HeldLines(list[tuple[Any, str]]):
    """Rendered lines held back, with the logger each would have gone to.

    ``open`` turns false when the held context ends (or overflows): a task that outlives the run
    but inherited its context (a plugin's background task, say) then logs live again.
    """

    open = True


_held: contextvars.ContextVar[HeldLines | None] = contextvars.ContextVar("openchoreo_sync_held_lines", default=None)


class _HoldOrPrint:
    """The last processor: render the line, then print it, or hold it while a run is held back.

    A run that may only repeat the previous run's failure is logged into a list; the daemon then
    prints that list if the run turned out different (see ``openchoreo_sync.quiet``), else drops it.
    """

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        line = self.renderer(logger, name, event)
        held = _held.get()
        if held is None or not held.open:
            return line
        if len(held) >= MAX_HELD_LINES:
            held.open = False
            release(held)
            return line
        held.append((logger, line))
        raise structlog.DropEvent


@contextlib.contextmanager
def holding_lines() -> Iterator[HeldLines]:
    """Hold every line logged in this context (tasks started from it included) in the list yielded."""
    held = HeldLines()
    token = _held.set(held)
    try:
        yield held
    finally:
        held.open = False
        _held.reset(token)


def release(held: HeldLines) -> None:
    """Print held lines, in order, where they would have gone."""
    for logger, line in held:
        logger.msg(line)
    held.clear()


_level = {"name": "info"}


def configured_level() -> str:
    """The level ``configure_logging`` set (``info`` until it is called)."""
    return _level["name"]


def configure_logging(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Set up structlog once for the process; ``fmt`` is ``auto``, ``console`` or ``json``."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    _level["name"] = level.lower()
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            _HoldOrPrint(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric if isinstance(numeric, int) else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "openchoreo_sync") -> Any:
    return structlog.get_logger(name)
