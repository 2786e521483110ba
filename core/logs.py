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
from collections.abc import Iterator, MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(secret|token|password|authorization|dsn)", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so any log line containing it is masked, whatever its key."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def redact_text(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key) and key not in ("token_url", "tokenUrl") and isinstance(value, str) and value:
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = redact_text(value)
        elif isinstance(value, BaseException):
            event[key] = redact_text(f"{type(value).__name__}: {value}")
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
