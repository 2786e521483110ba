"""Kubernetes label selectors, as the API passes ``labelSelector`` to the apiserver.

Supports the equality (``k=v``, ``k==v``, ``k!=v``), existence (``k``, ``!k``) and set
(``k in (a,b)``, ``k notin (a,b)``) forms. Invalid selectors raise :class:`SelectorError`,
which the server turns into ``400 invalid label selector: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Labels = Mapping[str, str]
Matcher = Callable[[Labels], bool]

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET = re.compile(r"^(\S+)\s+(in|notin)\s+\((.*)\)$")


class SelectorError(ValueError):
    """The selector does not parse."""


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _key(key: str) -> str:
    if not _KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise SelectorError(f"invalid label key {key!r}")
    return key


def _value(value: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise SelectorError(f"invalid label value: {value!r}")
    return value


def _requirement(req: str) -> Matcher:
    req = req.strip()
    if not req:
        raise SelectorError("found '', expected: identifier")
    m = _SET.match(req)
    if m:
        key, op, raw = _key(m.group(1)), m.group(2), m.group(3)
        values = {_value(v.strip()) for v in raw.split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in req:
            key, _, value = req.partition(op)
            k, v = _key(key.strip()), _value(value.strip())
            if op == "!=":
                return lambda labels: labels.get(k) != v
            return lambda labels: labels.get(k) == v
    if req.startswith("!"):
        k = _key(req[1:].strip())
        return lambda labels: k not in labels
    k = _key(req)
    return lambda labels: k in labels


def parse_selector(selector: str | None) -> Matcher | None:
    """A predicate over a labels map, or None when there is nothing to filter."""
    if selector is None or selector.strip() == "":
        return None
    reqs = [_requirement(r) for r in _split(selector)]
    return lambda labels: all(r(labels) for r in reqs)
