"""Read Backstage-style ``app-config.yaml`` files the way Backstage does, since users share them.

Backstage merges config files in order (objects merge key by key, everything else is replaced by
the later file; ``null`` removes a key), ranks ``APP_CONFIG_a_b=value`` variables above every file,
substitutes ``${VAR}`` / ``${VAR:-default}`` from the environment (a value whose variable is unset
disappears, so the key's default applies) and expands the value forms ``$env``, ``$file`` and
``$include`` relative to the file that holds them. We do the same, and remember which file set
each key so that validation errors can say where to look.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .yaml_bounds import check_yaml_bounds

_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""``${VAR}``, ``${VAR:-default}`` and the escape ``$${...}``, as Backstage writes them."""

ENV_PREFIX = "APP_CONFIG_"
"""``APP_CONFIG_openchoreo_defaultOwner=x`` sets ``openchoreo.defaultOwner``, as in Backstage."""
_ENV_KEY_PART = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z][A-Za-z0-9]*)*$")
MAX_INCLUDE_DEPTH = 8
"""``$include`` chains deeper than this are refused (a file including itself would never end)."""


class _Unset:
    """Marker for a value whose environment variable is not set."""


UNSET = _Unset()


@dataclass
class RawConfig:
    """The merged config tree, where each leaf key came from, and notes for the user."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """Every file and override read, in merge order (for ``check`` and error messages)."""

    def origin_of(self, dotted_key: str) -> str:
        """The file that set ``dotted_key`` (or its closest parent); 'defaults' if none did."""
        key = dotted_key
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition(".")[0]
        return "defaults"


@dataclass(frozen=True)
class _Reading:
    """What substitution needs besides the value: the environment and where relative paths start."""

    env: Mapping[str, str]
    notes: list[str]
    base_dir: Path | None
    label: str
    depth: int = 0


def _substitute_text(value: str, key: str, reading: _Reading) -> str | _Unset:
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1):  # "$${X}" is an escaped literal "${X}"
            return match.group(0)[1:]
        name, default = match.group(2), match.group(3)
        if name in reading.env:
            return reading.env[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    result = _VAR.sub(replace, value)
    if missing:
        reading.notes.append(f"{key}: environment variable {', '.join(missing)} is not set; the key is ignored")
        return UNSET
    return result


def _resolve_path(reference: Any, key: str, form: str, reading: _Reading) -> Path:
    if not isinstance(reference, str) or not reference.strip():
        raise ConfigError([f"{reading.label}: {key}: {form} needs a file path, got {reference!r}"])
    path = Path(reference.strip()).expanduser()
    if not path.is_absolute() and reading.base_dir is not None:
        path = reading.base_dir / path
    return path


def _read_file_value(reference: Any, key: str, reading: _Reading) -> str:
    """``$file: path``: the file's text, as Backstage reads it (relative to the config file)."""
    path = _resolve_path(reference, key, "$file", reading)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([f"{reading.label}: {key}: cannot read $file {path}: {reason}"]) from None


def _include(reference: Any, key: str, reading: _Reading) -> Any:
    """``$include: file.yaml#a.b``: that file's tree (or the sub-tree at ``a.b``), substituted too."""
    if reading.depth >= MAX_INCLUDE_DEPTH:
        raise ConfigError([f"{reading.label}: {key}: $include nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)"])
    target, _, pointer = str(reference).partition("#") if isinstance(reference, str) else (reference, "", "")
    path = _resolve_path(target, key, "$include", reading)
    data: Any = load_yaml_file(path)
    for part in [p for p in pointer.split(".") if p]:
        if not isinstance(data, dict) or part not in data:
            raise ConfigError([f"{reading.label}: {key}: $include {reference}: {path} has no key {pointer!r}"])
        data = data[part]
    inner = _Reading(reading.env, reading.notes, path.parent, f"{path} (included)", reading.depth + 1)
    return _substitute(data, key, inner)


def _value_form(value: dict[Any, Any], key: str, reading: _Reading) -> Any:
    """The value a one-key ``$env`` / ``$file`` / ``$include`` mapping stands for."""
    ((form, reference),) = value.items()
    if form == "$env":
        name = str(reference)
        if name not in reading.env:
            reading.notes.append(f"{key}: environment variable {name} is not set; the key is ignored")
            return UNSET
        return reading.env[name]
    if form == "$file":
        return _read_file_value(reference, key, reading)
    return _include(reference, key, reading)


_VALUE_FORMS = frozenset({"$env", "$file", "$include"})


def _substitute(value: Any, key: str, reading: _Reading) -> Any:
    if isinstance(value, str):
        return _substitute_text(value, key, reading)
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in _VALUE_FORMS:
            return _value_form(value, key, reading)
        out = {}
        for k, v in value.items():
            sub = _substitute(v, f"{key}.{k}" if key else str(k), reading)
            if sub is not UNSET:
                out[str(k)] = sub
        return out
    if isinstance(value, list):
        items = [_substitute(v, f"{key}[{i}]", reading) for i, v in enumerate(value)]
        return [v for v in items if v is not UNSET]
    return value


def env_overrides(env: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """``APP_CONFIG_a_b_c=value`` variables as (label, tree) sources, in name order.

    As in Backstage, the value is JSON when it parses as JSON and a plain string otherwise, and
    each underscore separates two keys (so a key with an underscore cannot be set this way).
    """
    sources: list[tuple[str, dict[str, Any]]] = []
    for name in sorted(n for n in env if n.startswith(ENV_PREFIX)):
        text = env[name]
        if not text:
            continue
        parts = name[len(ENV_PREFIX) :].split("_")
        if not all(_ENV_KEY_PART.match(part) for part in parts):
            raise ConfigError(
                [
                    f"environment variable {name}: not a config path; write APP_CONFIG_ then keys joined by _, "
                    "such as APP_CONFIG_openchoreo_defaultOwner"
                ]
            )
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        if value is None:
            raise ConfigError([f"environment variable {name}: the value may not be null"])
        tree: dict[str, Any] = {}
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        sources.append((f"environment variable {name}", tree))
    return sources


def _merge(
    target: dict[str, Any], source: Mapping[str, Any], origin: str, origins: dict[str, str], prefix: str
) -> None:
    for key, value in source.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if value is None:  # explicit absence, as in Backstage: the default applies again
            target.pop(key, None)
            for stale in [k for k in origins if k == dotted or k.startswith(dotted + ".")]:
                del origins[stale]
            continue
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
    """Merge the files in order (later wins), then any ``inline`` (label, mapping) pairs, then
    the ``APP_CONFIG_*`` variables of ``env``, which rank above every file as in Backstage."""
    env = os.environ if env is None else env
    raw = RawConfig()
    for path in paths:
        reading = _Reading(env, raw.notes, path.parent, str(path))
        _merge(raw.data, _substitute(load_yaml_file(path), "", reading), str(path), raw.origins, "")
        raw.sources.append(str(path))
    for label, data in [*(inline or []), *env_overrides(env)]:
        reading = _Reading(env, raw.notes, None, label)
        _merge(raw.data, _substitute(data, "", reading), label, raw.origins, "")
        raw.sources.append(label)
    return raw


def default_config_paths(directory: Path, env: Mapping[str, str] | None = None) -> list[Path]:
    """The files Backstage reads when no ``--config`` is given, those that exist, in merge order.

    ``app-config.yaml`` (required), ``app-config.local.yaml``; with ``BACKSTAGE_ENV=x`` also
    ``app-config.x.yaml`` and ``app-config.x.local.yaml``.
    """
    env = os.environ if env is None else env
    base = directory / "app-config.yaml"
    if not base.is_file():
        raise ConfigError(
            [
                f"no app-config.yaml in {directory.resolve()}; run from the directory holding it, pass "
                "--config FILE, or start from app-config.example.yaml"
            ]
        )
    names = ["app-config.local.yaml"]
    stage = env.get("BACKSTAGE_ENV", "").strip()
    if stage:
        names += [f"app-config.{stage}.yaml", f"app-config.{stage}.local.yaml"]
    return [base, *(directory / name for name in names if (directory / name).is_file())]
