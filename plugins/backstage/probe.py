"""``check --probe`` for the Backstage output: can Backstage be reached, read us, and accept us?

Four questions, each answered with what to change: does the backend answer and take the token
(``GET /api/catalog/locations``); can Backstage read the publish URL, and does it accept every file
there under its own ``catalog.rules`` (a dry-run read of the index, which reads each file; this
needs the daemon to be running at ``publishUrl``); and which OpenChoreo kinds do its processors
accept (``validate-entity`` on one sample per kind the enabled families declare).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

from openchoreo_sync.kit import ProbeResult

from .api import BackstageApiError, CatalogApi
from .kinds import BUILTIN_NAMES, CustomKindsMode, is_builtin
from .verify import fix_for

REFUSED_KIND = re.compile(r"Entity ([A-Za-z0-9_-]+):")


def _refused_kind(message: str, kinds: Iterable[str]) -> str:
    """The kind Backstage names in its error ("Entity resource:ns/name ..."), spelled as published."""
    found = REFUSED_KIND.search(message)
    if not found:
        return "the kind it names"
    lower = found.group(1).lower()
    return BUILTIN_NAMES.get(lower) or next((k for k in kinds if k.lower() == lower), found.group(1))


def _sample(kind: str) -> dict[str, object]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "openchoreo-sync-probe", "namespace": "default"},
        "spec": {"owner": "group:default/openchoreo-sync-probe", "type": "probe", "lifecycle": "probe"},
    }


async def probe_backstage(
    api: CatalogApi, base_url: str, index_url: str | None, kinds: Iterable[str], mode: CustomKindsMode
) -> list[ProbeResult]:
    try:
        locations = await api.locations()
    except httpx.HTTPError as exc:
        return [
            ProbeResult(
                "backstage reachable",
                False,
                f"{base_url} does not answer ({type(exc).__name__}: {exc}); check openchoreo.plugins.backstage.baseUrl",
            )
        ]
    except BackstageApiError as exc:
        return [ProbeResult("backstage token", False, str(exc))]
    kinds = list(kinds)
    results = [ProbeResult("backstage token", True, f"{base_url} accepts the token ({len(locations)} locations)")]
    if index_url is None:
        results.append(
            ProbeResult("backstage reads us", False, "no publish URL: set openchoreo.plugins.backstage.publishUrl")
        )
    else:
        errors = await api.dry_run(index_url)
        if errors:
            fix = fix_for(errors[0], _refused_kind(errors[0], kinds), custom=False)
            results.append(
                ProbeResult(
                    "backstage reads us",
                    False,
                    f"Backstage cannot read or accept {index_url}: {errors[0]}; "
                    f"fix: {fix} (the daemon must be running at publishUrl "
                    "for this check)",
                )
            )
        else:
            results.append(
                ProbeResult("backstage reads us", True, f"Backstage reads {index_url} and accepts every file in it")
            )
    custom = sorted({k for k in kinds if not is_builtin(k)})
    refused: dict[str, str] = {}
    for kind in custom:
        reasons = await api.validate_entity(_sample(kind), index_url or base_url)
        if reasons:
            refused[kind] = reasons[0]
    accepted = [k for k in custom if k not in refused]
    if not refused:
        detail = f"Backstage's processors accept every OpenChoreo kind: {', '.join(accepted) or '-'}"
        results.append(ProbeResult("backstage processors", True, detail))
    elif mode == "native":
        first = next(iter(refused.values()))
        results.append(
            ProbeResult(
                "backstage processors",
                False,
                f"customKinds native, but Backstage refuses {', '.join(refused)} ({first}); fix: "
                f"{fix_for(first, 'them', custom=True)}",
            )
        )
    else:
        verb = "are published as Resource" if mode in ("auto", "resource") else "are left out (customKinds skip)"
        results.append(
            ProbeResult(
                "backstage processors",
                True,
                f"Backstage has no processor for {', '.join(refused)}: they {verb}; accepted as is: "
                f"{', '.join(accepted) or '-'}",
            )
        )
    return results
