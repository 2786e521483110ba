"""Bounds on a configuration file before it is built into objects: size, nesting depth, alias expansion.

``yaml.safe_load`` is safe against code execution, not against size: nine levels of nine aliases
("billion laughs") build a tree whose expansion has 10^9 nodes, which every walk of the config
(substitution, merge, validation) then visits; 50,000 nested ``[`` make the composer recurse
until ``RecursionError``. The event stream is read first, iteratively, counting the expanded
size each anchor stands for, so such a file is refused with an error naming it before any of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
"""Nodes of the fully expanded tree; a large real app-config has a few thousand."""


@dataclass
class _Frame:
    anchor: str | None
    nodes: int = 1


def check_yaml_bounds(text: str, path: Path | str) -> None:
    """Raise ``ConfigError`` naming ``path`` when ``text`` is too large, too deep or expands too much."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        raise ConfigError([f"{path}: the file is {size} bytes, more than a configuration may be ({MAX_FILE_BYTES})"])
    anchored: dict[str, int] = {}
    stack: list[_Frame] = []
    total = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                added = anchored.get(str(event.anchor), 1)
            elif isinstance(event, yaml.ScalarEvent):
                added = 1
                if event.anchor:
                    anchored[str(event.anchor)] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append(_Frame(event.anchor))
                if len(stack) > MAX_DEPTH:
                    raise ConfigError([f"{path}: nested deeper than {MAX_DEPTH} levels; no configuration is"])
                continue
            elif isinstance(event, yaml.CollectionEndEvent):
                frame = stack.pop()
                if frame.anchor:
                    anchored[str(frame.anchor)] = frame.nodes
                added = frame.nodes
                if stack:
                    stack[-1].nodes += added
                    _check(stack[-1].nodes, path)
                else:
                    total += added
                    _check(total, path)
                continue
            else:
                continue
            if stack:
                stack[-1].nodes += added
                _check(stack[-1].nodes, path)
            else:
                total += added
            _check(total, path)
    except yaml.YAMLError:
        return  # the loader reports syntax errors with their position
    except RecursionError:
        raise ConfigError([f"{path}: nested too deeply to read"]) from None


def _check(nodes: int, path: Path | str) -> None:
    if nodes > MAX_NODES:
        raise ConfigError(
            [
                f"{path}: expands to more than {MAX_NODES} values (YAML aliases repeating aliases, "
                "'billion laughs'); a configuration never needs that many"
            ]
        )
