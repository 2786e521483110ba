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
