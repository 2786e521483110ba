"""Read Backstage-style ``app-config.yaml`` files: deep merge and ``${VAR}`` substitution.

Backstage merges config files in order (objects merge key by key, everything else is replaced by
the later file) and substitutes ``${VAR}`` from the environment; a value whose variable is unset
disappears, so the key's default applies. We do the same, and remember which file set each key so
that validation errors can say where to look.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .yaml_bounds import check_yaml_bounds

_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Unset:
    """Marker for a value whose environment variable is not set."""


UNSET = _Unset()


@dataclass
class RawConfig:
    """The merged config tree, where each leaf key came from, and notes for the user."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def origin_of(self, dotted_key: str) -> str:
        """The file that set ``dotted_key`` (or its closest parent); 'defaults' if none did."""
        key = dotted_key
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition(".")[0]
        return "defaults"


def _substitute(value: Any, key: str, env: Mapping[str, str], notes: list[str]) -> Any:
    if isinstance(value, str):
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group(1):  # "$${X}" is an escaped literal "${X}"
                return "${" + match.group(2) + "}"
            name = match.group(2)
            if name not in env:
                missing.append(name)
                return ""
            return env[name]

        result = _VAR.sub(replace, value)
        if missing:
            notes.append(f"{key}: environment variable {', '.join(missing)} is not set; the key is ignored")
            return UNSET
        return result
    if isinstance(value, dict):
        if set(value) == {"$env"}:
            name = str(value["$env"])
            if name not in env:
                notes.append(f"{key}: environment variable {name} is not set; the key is ignored")
                return UNSET
            return env[name]
        out = {}
        for k, v in value.items():
            sub = _substitute(v, f"{key}.{k}" if key else str(k), env, notes)
            if sub is not UNSET:
                out[str(k)] = sub
        return out
    if isinstance(value, list):
        items = [_substitute(v, f"{key}[{i}]", env, notes) for i, v in enumerate(value)]
        return [v for v in items if v is not UNSET]
    return value


def _merge(
    target: dict[str, Any], source: Mapping[str, Any], origin: str, origins: dict[str, str], prefix: str
) -> None:
    for key, value in source.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, origin, origins, dotted)
        else:
            target[key] = value
            for stale in [k for k in origins if k.startswith(dotted + ".")]:
                del origins[stale]
            origins[dotted] = origin
            if isinstance(value, dict):
                _record_leaves(value, origin, origins, dotted)


def _record_leaves(value: Mapping[str, Any], origin: str, origins: dict[str, str], prefix: str) -> None:
    for key, child in value.items():
        dotted = f"{prefix}.{key}"
        origins[dotted] = origin
        if isinstance(child, dict):
            _record_leaves(child, origin, origins, dotted)


def load_yaml_file(path: Path) -> dict[str, Any]:
    """Parse one file with the safe loader; an empty file is an empty config."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc.strerror or exc}"]) from exc
    check_yaml_bounds(text, path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys, got {type(data).__name__}"])
    return data


def load_raw_config(
    paths: list[Path],
    env: Mapping[str, str] | None = None,
    *,
    inline: list[tuple[str, dict[str, Any]]] | None = None,
) -> RawConfig:
    """Merge the files in order (later wins), then any ``inline`` (label, mapping) pairs."""
    env = os.environ if env is None else env
    raw = RawConfig()
    sources: list[tuple[str, dict[str, Any]]] = [(str(p), load_yaml_file(p)) for p in paths]
    sources.extend(inline or [])
    for label, data in sources:
        substituted = _substitute(data, "", env, raw.notes)
        _merge(raw.data, substituted, label, raw.origins, "")
    return raw
