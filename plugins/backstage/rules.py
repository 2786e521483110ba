"""Start-up advice against ``catalog.rules``: which declared kinds Backstage would reject.

The filtering itself (:func:`~openchoreo_sync.kit.publishing.filter_allowed`) is shared with the
``files`` output and lives in the kit.
"""

from __future__ import annotations

from collections.abc import Iterable

from openchoreo_sync.kit import AppConfig
from openchoreo_sync.kit.publishing import BACKSTAGE_DEFAULT_ALLOW, configured_allow, rules_line


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
