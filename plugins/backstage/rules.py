"""Preflight against ``catalog.rules``: never publish a kind Backstage would reject.

Backstage rejects a *whole location file* when one entity's kind is not allowed, and keeps the
file frozen from then on; OpenChoreo's official module drops such entities silently. We read the
same ``catalog.rules`` key (from our own config, which is usually the same app-config), leave
disallowed kinds out and say exactly which line to change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from openchoreo_sync import Entity
from openchoreo_sync.config import AppConfig

BACKSTAGE_DEFAULT_ALLOW = ("Component", "API", "Location")
"""What Backstage allows when ``catalog.rules`` is not set at all."""


def configured_allow(config: AppConfig) -> list[str] | None:
    """The allowed kinds as written in ``catalog.rules`` (original spelling, in order), or None."""
    if config.catalog.rules is None:
        return None
    seen: dict[str, str] = {}
    for rule in config.catalog.rules:
        for kind in rule.allow:
            seen.setdefault(kind.lower(), kind)
    return list(seen.values())


def rules_line(allowed: Iterable[str], missing: Iterable[str]) -> str:
    """The ``catalog.rules`` line that would allow ``missing`` too, e.g. ``[{allow: [A, B, C]}]``."""
    kinds = list(dict.fromkeys([*allowed, *sorted(missing)]))
    return f"catalog.rules: [{{allow: [{', '.join(kinds)}]}}]"


@dataclass
class Preflight:
    """The entities that may be published, and the kinds that were held back (with counts)."""

    allowed: list[Entity]
    held_back: Counter[str] = field(default_factory=Counter)
    allow_list: list[str] | None = None

    def warning(self) -> str | None:
        if not self.held_back:
            return None
        kinds = ", ".join(f"{kind} ({count})" for kind, count in sorted(self.held_back.items()))
        return (
            f"kinds not allowed by catalog.rules are not published: {kinds}; Backstage would reject "
            f"every file holding one. To publish them, set "
            f"{rules_line(self.allow_list or [], self.held_back)} in the Backstage app-config "
            f"and in this daemon's config"
        )


def filter_allowed(entities: Iterable[Entity], config: AppConfig) -> Preflight:
    """Split ``entities`` by ``catalog.rules``; with no rules configured everything passes."""
    allow = configured_allow(config)
    if allow is None:
        return Preflight(list(entities))
    allowed_lower = {k.lower() for k in allow}
    result = Preflight([], Counter(), allow)
    for entity in entities:
        kind = str(entity.get("kind", ""))
        if kind.lower() in allowed_lower:
            result.allowed.append(entity)
        else:
            result.held_back[kind] += 1
    return result


def kind_problems(kinds: Iterable[str], config: AppConfig, *, needs_location: bool) -> list[str]:
    """Start-up check over the kinds plugins declare (before any entity exists)."""
    allow = configured_allow(config)
    problems: list[str] = []
    if allow is None:
        problems.append(
            "catalog.rules is not set in this daemon's config, so kinds cannot be checked; Backstage's "
            f"default allows only {', '.join(BACKSTAGE_DEFAULT_ALLOW)}: set the same catalog.rules here "
            "as in the Backstage app-config"
        )
        return problems
    allowed_lower = {k.lower() for k in allow}
    if needs_location and "location" not in allowed_lower:
        problems.append(
            "catalog.rules does not allow Location, so Backstage will reject the index location and "
            f"ingest nothing: set {rules_line(allow, ['Location'])}"
        )
    missing = sorted({k for k in kinds if k.lower() not in allowed_lower and k.lower() != "location"})
    if missing:
        problems.append(
            f"kinds not allowed by catalog.rules will not be published: {', '.join(missing)}; to publish "
            f"them set {rules_line(allow, missing)} in the Backstage app-config and in this daemon's config"
        )
    return problems
