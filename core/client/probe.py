"""``openchoreo-sync check --probe``: can this configuration reach and read the API?

Each check ends in one plain sentence, so an operator can fix the configuration without reading
logs. The auth-mode check exists because the most common first-run failure is a daemon
configured without auth against a cluster that enforces it (or the reverse).
"""

from __future__ import annotations

from ..config import OpenChoreoConfig
from ..context import BoundLogger
from ..errors import SyncError
from ..kit.endpoints import NAMESPACES
from ..probe_result import ProbeResult as ProbeResult
from .client import OpenChoreoClient
from .errors import ApiError, TokenError, auth_off_hint

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def _auth_words(enabled: bool) -> str:
    return "on" if enabled else "off"


async def _auth_mode(client: OpenChoreoClient, auth_enabled: bool) -> ProbeResult | None:
    name = "auth mode"
    try:
        data = await client.get_public(WELL_KNOWN, what="the API's auth metadata")
    except ApiError as exc:
        if exc.status is None:  # unreachable: the namespaces check reports it
            return None
        return ProbeResult(name, True, f"could not read {WELL_KNOWN} ({exc}); auth mode not compared")
    enforced = data.get("openchoreo_security_enabled") if data is not None else None
    if not isinstance(enforced, bool):
        return None
    if enforced == auth_enabled:
        return ProbeResult(name, True, f"the API enforces auth: {_auth_words(enforced)}, as configured")
    if enforced:
        return ProbeResult(name, False, auth_off_hint())
    return ProbeResult(
        name,
        False,
        "the cluster runs with auth off, but openchoreo.features.auth.enabled is true here; the sync "
        "still works (the API ignores the token), but set openchoreo.features.auth.enabled: false to "
        "match how the cluster was deployed",
    )


async def _token(client: OpenChoreoClient) -> ProbeResult:
    assert client.tokens is not None
    try:
        await client.tokens.token()
    except TokenError as exc:
        return ProbeResult("token endpoint", False, str(exc))
    return ProbeResult("token endpoint", True, f"{client.tokens.token_url} issued a token")


async def _namespaces(client: OpenChoreoClient) -> ProbeResult:
    name = "list namespaces"
    try:
        items, _ = await client.get_page(NAMESPACES, {"limit": "1"}, what="namespaces")
    except SyncError as exc:  # ApiError, or TokenError if the token expired meanwhile
        return ProbeResult(name, False, str(exc))
    if items:
        return ProbeResult(name, True, f"GET {NAMESPACES} answered with namespaces visible")
    extra = " (with auth on, the client may lack view roles: the API hides what it may not see)"
    return ProbeResult(
        name,
        True,
        f"GET {NAMESPACES} answered, but no namespace is visible" + (extra if client.auth_enabled else ""),
    )


async def probe(config: OpenChoreoConfig, *, log: BoundLogger | None = None) -> list[ProbeResult]:
    """Run the checks once, without retries, and return one result per check."""
    quick = config.model_copy(update={"client": config.client.model_copy(update={"retries": 0})})
    results: list[ProbeResult] = []
    async with OpenChoreoClient(quick, log=log) as client:
        mode = await _auth_mode(client, config.auth_enabled)
        if mode is not None:
            results.append(mode)
        if client.tokens is not None:
            token = await _token(client)
            results.append(token)
            if not token.ok:
                results.append(ProbeResult("list namespaces", False, "skipped: no token"))
                return results
        listed = await _namespaces(client)
        results.append(listed)
        mode_failed = mode is not None and not mode.ok
        if not listed.ok and "MISSING_TOKEN" in listed.detail and not config.auth_enabled and not mode_failed:
            results = [r for r in results if r.name != "auth mode"]
            results.insert(0, ProbeResult("auth mode", False, auth_off_hint()))
    return results


def format_probe(results: list[ProbeResult]) -> str:
    """One line per check, ``ok``/``FAIL`` first, then a verdict line."""
    width = max((len(r.name) for r in results), default=0)
    lines = [f"{'ok  ' if r.ok else 'FAIL'}  {r.name.ljust(width)}  {r.detail}" for r in results]
    failed = sum(not r.ok for r in results)
    lines.append("all checks passed" if not failed else f"{failed} of {len(results)} checks failed")
    return "\n".join(lines)
