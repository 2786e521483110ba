"""``check --probe`` for plugins: each plugin checks the remote systems it talks to.

The core probes OpenChoreo itself; an output that publishes elsewhere (a Backstage) knows best
what to ask there. Each plugin's ``probe`` hook returns one result per check; a plugin whose
probe raises gets one failed result naming the error, and the other plugins still run.
"""

from __future__ import annotations

import inspect
from typing import Any

import structlog

from .build import describe_error
from .config import AppConfig
from .context import Services, SyncContext
from .plugins_manager import LoadedPlugins
from .probe_result import ProbeResult


async def probe_plugins(config: AppConfig, plugins: LoadedPlugins, *, log: Any = None) -> list[ProbeResult]:
    ctx = SyncContext(
        run_id="probe",
        config=config,
        log=log or structlog.get_logger("openchoreo_sync.probe"),
        plugin_settings=plugins.settings,
        services=Services(enabled_kinds=plugins.enabled_kinds()),
    )
    results: list[ProbeResult] = []
    for impl in plugins.each("probe"):
        try:
            outcome = impl(ctx=ctx)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            results.extend(outcome or ())
        except Exception as exc:  # one plugin's broken probe must not hide the others' answers
            results.append(ProbeResult(impl.plugin, False, f"the probe itself failed: {describe_error(exc)}"))
    return results
