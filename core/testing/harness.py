"""Run the real engine against a mock (or any) OpenChoreo API from a test, with a throwaway store.

For this project's tests and for third-party plugin authors: ``SyncHarness`` builds the same
runtime ``openchoreo-sync run`` builds, from a config mapping, with extra plugin objects
registered directly, and exposes the run results and the stored snapshot to assert on.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from ..config import validate_config
from ..config_loader import load_raw_config
from ..daemon import Daemon
from ..model import Entity, EntityRef
from ..run_records import RunResult
from ..runtime import Runtime, open_runtime


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def harness_config(base_url: str, state_dir: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config for tests: the given API, a store under ``state_dir``, server on an ephemeral port
    served by the daemon's own process (``readProcesses: 0``)."""
    config: dict[str, Any] = {
        "openchoreo": {
            "baseUrl": base_url,
            "features": {"auth": {"enabled": False}},
            "schedule": {"frequency": 30, "timeout": 60},
            "sqlite": {"path": str(state_dir / "state.sqlite3")},
            # one process, as most tests want to look inside it; tests of reader processes set it
            "server": {"host": "127.0.0.1", "port": 0, "readProcesses": 0},
            "client": {"backoffBase": 0.01, "timeout": 10},
        }
    }
    return deep_merge(config, overrides or {})


class SyncHarness:
    """One daemon's worth of parts; ``await h.run()`` syncs once, ``await h.serve()`` starts HTTP."""

    def __init__(
        self,
        base_url: str,
        state_dir: Path,
        overrides: dict[str, Any] | None = None,
        *,
        extra_plugins: list[tuple[str, object]] | None = None,
    ) -> None:
        self.config_data = harness_config(base_url, state_dir, overrides)
        raw = load_raw_config([], inline=[("test-config", self.config_data)])
        config = validate_config(raw)
        self.runtime: Runtime = open_runtime([], config=config, raw=raw, extra_plugins=extra_plugins)
        self.daemon = Daemon(self.runtime.config, self.runtime.plugins, self.runtime.store, self.runtime.engine)
        self.results: list[RunResult] = []
        """Every run's result, without entities (``run()`` returns them; the store has them)."""
        self._started = False

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    @property
    def store(self) -> Any:
        return self.runtime.store

    async def run(self, trigger: str = "test", *, keep_entities: bool = True) -> RunResult:
        """One run, as the daemon's; its result keeps the run's entities unless told not to
        (benchmarks measure a run as the daemon has it)."""
        result = await self.daemon.run_once(trigger=trigger, keep_entities=keep_entities)
        self.results.append(dataclasses.replace(result, entities={}))
        return result

    async def serve(self) -> str:
        """Start plugins and the HTTP server (ephemeral port); returns the base URL."""
        if not self._started:
            await self.daemon.start()
            self._started = True
        assert self.daemon.http is not None
        return self.daemon.http.url

    async def start(self) -> None:
        """Start plugins (``on_startup``) without an HTTP server."""
        if not self._started:
            self.daemon.serve_http = False
            await self.daemon.start()
            self._started = True

    def entities(self) -> dict[EntityRef, Entity]:
        """The committed snapshot, from the store."""
        return dict(self.runtime.store.all_bodies())

    async def close(self) -> None:
        if self._started:
            await self.daemon.stop()
        self.runtime.close()
