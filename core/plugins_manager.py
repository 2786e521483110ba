"""Find, load, enable and describe plugins.

Built-in families and outputs are found through the same entry-point group as third-party
packages (``openchoreo_sync.plugins``), so the core uses its own extension API every day. A plugin
that fails to import is reported and skipped unless the config explicitly enables it.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from . import builtin_relations, hookspecs
from .config import AppConfig
from .errors import ConfigError, PluginError
from .hooks import HookRunner, Implementation, unsupported_wrappers
from .plugin_info import PluginInfo
from .relations import INVERSE

ENTRY_POINT_GROUP = "openchoreo_sync.plugins"
DISABLE_ENV = "OPENCHOREO_SYNC_DISABLE_PLUGINS"
"""Comma-separated plugin names to disable whatever the config says: an operator's escape hatch."""

ESSENTIAL: dict[str, ModuleType] = {builtin_relations.NAME: builtin_relations}
"""Plugins the core cannot work without; they cannot be disabled."""


@dataclass
class PluginRecord:
    """One plugin as ``openchoreo-sync plugins`` shows it."""

    name: str
    package: str
    version: str
    enabled: bool
    info: PluginInfo | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    essential: bool = False


@dataclass
class LoadedPlugins:
    """The plugin manager with every enabled plugin registered, plus a record of every plugin seen."""

    pm: pluggy.PluginManager
    records: dict[str, PluginRecord]
    settings: dict[str, BaseModel | dict[str, Any]]
    inverse: dict[str, str]
    runner: HookRunner = field(init=False)

    def __post_init__(self) -> None:
        self.runner = HookRunner(self.pm)

    def enabled(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.enabled and r.error is None]

    def each(self, hook_name: str) -> list[Implementation]:
        """Every enabled implementation of ``hook_name``, in pluggy's call order (see ``hooks``)."""
        return self.runner.each(hook_name)

    def enabled_kinds(self) -> frozenset[str]:
        """The Backstage kinds the enabled plugins declare."""
        return frozenset(kind for record in self.enabled() if record.info is not None for kind in record.info.kinds)


def discover() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _hooks_of(plugin: object) -> list[str]:
    names = []
    for attr in dir(plugin):
        value = getattr(plugin, attr, None)
        if callable(value) and hasattr(value, hookspecs.PROJECT + "_impl"):
            names.append(getattr(value, hookspecs.PROJECT + "_impl").get("specname") or attr)
    return sorted(set(names))


def _call_info(plugin: object, name: str) -> PluginInfo:
    for attr in dir(plugin):
        value = getattr(plugin, attr, None)
        marker = getattr(value, hookspecs.PROJECT + "_impl", None)
        if marker is not None and (marker.get("specname") or attr) == "plugin_info":
            info = value()  # type: ignore[misc]
            if not isinstance(info, PluginInfo):
                raise PluginError(f"plugin {name!r}: plugin_info() must return PluginInfo, got {type(info).__name__}")
            return info
    raise PluginError(f"plugin {name!r} does not implement plugin_info(); every plugin must describe itself")


def load_plugins(
    config: AppConfig,
    *,
    extra: Iterable[tuple[str, object]] = (),
    entry_points_list: list[EntryPoint] | None = None,
    env: dict[str, str] | None = None,
) -> LoadedPlugins:
    """Load every discovered plugin, register the enabled ones, validate their settings.

    ``extra`` registers plugin objects directly (tests and embedding); they behave exactly like
    entry-point plugins.
    """
    env = dict(os.environ) if env is None else env
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    records: dict[str, PluginRecord] = {}
    candidates: list[tuple[PluginRecord, object | None]] = []

    for name, module in ESSENTIAL.items():
        candidates.append((PluginRecord(name, "openchoreo-catalog-sync", _own_version(), True, essential=True), module))

    described: dict[int, tuple[str, str]] = {}
    for ep in discover() if entry_points_list is None else entry_points_list:
        dist = getattr(ep, "dist", None)
        # Each ``metadata``/``version`` read parses the distribution's METADATA file again: once
        # per distribution, not twice per entry point (the built-ins are eleven of one).
        if dist is not None and id(dist) not in described:
            described[id(dist)] = (dist.metadata["Name"], dist.version)
        package, version = described[id(dist)] if dist is not None else ("?", "?")
        record = PluginRecord(ep.name, package, version, enabled=True)
        try:
            plugin: object | None = ep.load()
        except Exception as exc:  # a broken third-party package must not take the daemon down
            record.error = f"{type(exc).__name__}: {exc}"
            plugin = None
        candidates.append((record, plugin))

    for name, plugin in extra:
        owner = inspect.getmodule(plugin)
        package = (owner.__name__ if owner else type(plugin).__module__).split(".")[0]
        candidates.append((PluginRecord(name, package, "-", True), plugin))

    configured = config.openchoreo.plugins
    known = {record.name for record, _ in candidates}
    problems: list[str] = []
    unknown = sorted(set(configured) - known)
    if unknown:
        problems.append(
            f"openchoreo.plugins: unknown plugin(s) {', '.join(unknown)}; known plugins: {', '.join(sorted(known))}"
        )
    disabled_by_env = {n.strip() for n in env.get(DISABLE_ENV, "").split(",") if n.strip()}

    settings: dict[str, BaseModel | dict[str, Any]] = {}
    inverse = dict(INVERSE)
    for record, plugin in candidates:
        if record.name in records:
            other = records[record.name]
            raise PluginError(
                f"two plugins are named {record.name!r} (from {other.package} and {record.package}); rename one"
            )
        records[record.name] = record
        explicitly_enabled = (configured.get(record.name) or {}).get("enabled") is True
        if plugin is None:
            record.enabled = False
            if explicitly_enabled:
                problems.append(
                    f"openchoreo.plugins.{record.name} is enabled but the plugin failed to import: {record.error}"
                )
            continue
        try:
            record.info = _call_info(plugin, record.name)
        except Exception as exc:
            record.error = str(exc)
            record.enabled = False
            if explicitly_enabled:
                problems.append(f"openchoreo.plugins.{record.name}: {exc}")
            continue
        record.hooks = _hooks_of(plugin)
        if not record.essential:
            record.enabled = config.openchoreo.plugin_enabled(record.name, default=record.info.default_enabled)
            if record.name in disabled_by_env:
                record.enabled = False
        if not record.enabled:
            pm.set_blocked(record.name)
            continue
        settings[record.name] = _validate_settings(record, config, problems)
        for forward, back in record.info.relation_pairs:
            inverse.setdefault(forward, back)
            inverse.setdefault(back, forward)
        pm.register(plugin, name=record.name)

    if problems:
        raise ConfigError(problems)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements a hook that does not exist: {exc}") from exc
    wrappers = unsupported_wrappers(pm)
    if wrappers:
        raise PluginError("; ".join(wrappers))
    return LoadedPlugins(pm, records, settings, inverse)


def _validate_settings(record: PluginRecord, config: AppConfig, problems: list[str]) -> BaseModel | dict[str, Any]:
    raw = config.openchoreo.plugin_settings(record.name)
    model = record.info.settings if record.info else None
    if model is None:
        return raw
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            problems.append(f"openchoreo.plugins.{record.name}.{key}: {error['msg']}")
        return raw


def _own_version() -> str:
    try:
        return importlib.metadata.version("openchoreo-catalog-sync")
    except importlib.metadata.PackageNotFoundError:
        return "dev"
