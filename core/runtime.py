"""Assemble the parts (config, plugins, store, engine) the commands share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from .client import OpenChoreoClient
from .client.auth import TokenCache
from .client.pagination import PageCounts
from .config import AppConfig, load_config
from .config_loader import RawConfig
from .context import ApiClient
from .engine import Engine
from .logs import get_logger, register_secret
from .plugins_manager import LoadedPlugins, load_plugins
from .store import StateStore, open_store


@dataclass
class Runtime:
    config: AppConfig
    raw: RawConfig
    plugins: LoadedPlugins
    store: StateStore
    engine: Engine

    def close(self) -> None:
        self.store.close()


def register_config_secrets(config: AppConfig) -> None:
    """Teach the log redactor every secret of the config, so none can leak through a log line."""
    oc = config.openchoreo
    for secret in (
        oc.auth.client_secret,
        oc.server.token,
        oc.events.token,
        oc.events.signature_secret,
        oc.postgres.dsn,
    ):
        if secret is not None:
            register_secret(secret.get_secret_value())


def client_factory(config: AppConfig) -> object:
    """A new client per run (its pool and counters are the run's), all sharing one OAuth token and
    what the last run's lists were like (their page counts order the next run's requests)."""
    tokens = TokenCache()
    pages = PageCounts()

    @asynccontextmanager
    async def make() -> AsyncIterator[ApiClient]:
        log = get_logger("openchoreo_sync.client")
        async with OpenChoreoClient(config.openchoreo, log=log, token_cache=tokens, page_counts=pages) as client:
            yield client

    return make


def open_runtime(
    config_paths: list[Path],
    *,
    config: AppConfig | None = None,
    raw: RawConfig | None = None,
    extra_plugins: list[tuple[str, object]] | None = None,
) -> Runtime:
    if config is None:
        config, raw = load_config(config_paths)
    assert raw is not None
    register_config_secrets(config)
    plugins = load_plugins(config, extra=extra_plugins or [])
    store = open_store(config)
    engine = Engine(config, plugins, store, client_factory(config), log=get_logger("openchoreo_sync.engine"))  # type: ignore[arg-type]
    return Runtime(config, raw, plugins, store, engine)
