"""Exceptions that cross module boundaries; each message names the culprit and the fix."""

from __future__ import annotations


class SyncError(Exception):
    """Base class for errors this product raises on purpose."""


class ConfigError(SyncError):
    """The configuration cannot be used; the message lists every problem found, with file and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class PluginError(SyncError):
    """A plugin cannot be loaded, is unknown, or broke a contract of the hookspecs."""


class StoreError(SyncError):
    """The state store cannot be opened or written."""


class NoStoreError(StoreError):
    """A command that only reads or approves found no state store where the config points."""


class ResourceSkipped(ValueError):
    """Raised by a mapper to leave one resource out on purpose, without holding its collection.

    A plain exception from a mapper means "this resource could not be read": it is reported and
    what it produced before is carried forward (its collection counts as incomplete). This one
    means "this resource deliberately produces nothing now" (a hand-written template that is
    unreadable, say): it is reported in the run's problems the same way, but the collection stays
    complete, so what the resource produced before goes like any entity that is no longer made.
    """
