"""One check of ``openchoreo-sync check --probe``, from the core or from a plugin's ``probe`` hook."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeResult:
    """One check: its name, whether it passed, and what was found (or what to change)."""

    name: str
    ok: bool
    detail: str
