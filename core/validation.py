"""Backstage's entity validation rules, applied to every entity before it enters a snapshot.

These mirror ``@backstage/catalog-model``'s default validators (KubernetesValidatorFunctions and
the tag/kind/apiVersion checks), so an entity we keep is never one Backstage would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache, wraps
from itertools import repeat
from typing import Any

_OBJECT_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KIND = re.compile(r"^[a-zA-Z][a-z0-9A-Z]*$")
_VERSION = re.compile(r"^[a-z0-9A-Z]+$")
_TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")


_MEMOS: list[Any] = []


def _memo_for_strings(check: Callable[[str], bool]) -> Callable[[Any], bool]:
    """Memoise a pure check over strings; anything that is not a string fails it.

    Every entity repeats the same few annotation keys, kinds and tags, so the regexes would
    otherwise run hundreds of thousands of times per sync.
    """
    cached = lru_cache(maxsize=4096)(check)  # repeated keys stay hot; unique names just pass through
    _MEMOS.append(cached)

    @wraps(check)
    def memoised(value: Any) -> bool:
        return isinstance(value, str) and cached(value)

    memoised.cached = cached  # type: ignore[attr-defined]  # for entity_problems: see _cached
    return memoised


def _cached(check: Callable[[Any], bool]) -> Callable[[str], bool]:
    """The C-level cache under a memoised check, for a caller that has already seen a ``str``.

    ``entity_problems`` runs ~25 checks per entity (each annotation and label key, each tag);
    going through the Python wrapper doubled the calls, and at 10k components the wrapper alone
    was the largest part of validating in a cProfile of a first sync. Same answers: the wrapper
    is ``isinstance(value, str) and cached(value)``, and the callers keep the ``isinstance``.
    """
    return check.cached  # type: ignore[attr-defined, no-any-return]


def forget_memos() -> None:
    """Drop every memoised string once a run is over.

    The cached strings are the run's own (names, keys); a few thousand of them left scattered
    through the allocator's arenas would keep each arena, and so the whole run's memory, from
    going back to the operating system between runs.
    """
    for memo in _MEMOS:
        memo.cache_clear()
    _GOOD_KEY_SETS.clear()
    _GOOD_TAG_LISTS.clear()


@_memo_for_strings
def is_object_name(value: str) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_OBJECT_NAME.match(value))


@_memo_for_strings
def is_dns_label(value: str) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_DNS_LABEL.match(value))


@_memo_for_strings
def is_dns_subdomain(value: str) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 253 and all(is_dns_label(p) for p in value.split("."))


@_memo_for_strings
def is_prefixed_key(value: str) -> bool:
    """Label and annotation keys: ``[dns-subdomain/]object-name``."""
    if not isinstance(value, str):
        return False
    prefix, sep, name = value.rpartition("/")
    if sep and not is_dns_subdomain(prefix):
        return False
    return is_object_name(name)


@_memo_for_strings
def is_api_version(value: str) -> bool:
    if not isinstance(value, str):
        return False
    group, sep, version = value.rpartition("/")
    if sep and not is_dns_subdomain(group):
        return False
    return 1 <= len(version) <= 63 and bool(_VERSION.match(version))


@_memo_for_strings
def is_tag(value: str) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_TAG.match(value))


_object_name = _cached(is_object_name)
_dns_label = _cached(is_dns_label)
_prefixed_key = _cached(is_prefixed_key)
_api_version = _cached(is_api_version)
_tag = _cached(is_tag)


@_memo_for_strings
def _is_kind(value: str) -> bool:
    return bool(_KIND.match(value)) and len(value) <= 63


_kind = _cached(_is_kind)


_GOOD_KEY_SETS: set[tuple[Any, ...]] = set()
"""Label and annotation key tuples seen valid: each kind's entities repeat a handful of them."""
_GOOD_TAG_LISTS: set[tuple[Any, ...]] = set()
_GOOD_MAX = 4_096
_STR = repeat(str)


def _known_good(values: Iterable[Any], good: set[tuple[Any, ...]], check: Callable[[str], bool]) -> bool:
    """Whether every one of ``values`` is a string passing ``check``, remembered per tuple of them.

    A shortcut for the valid case only: an entity with a problem is checked item by item
    again, so its problems are listed exactly as before. Hashing a tuple of strings is one C
    call where checking each was a Python-level call per key (~25 per entity).
    """
    seen = tuple(values)
    if seen in good:
        return True
    if not all(isinstance(value, str) and check(value) for value in seen):
        return False
    if len(good) >= _GOOD_MAX:
        good.clear()
    good.add(seen)
    return True


def _block_is_valid(block: Mapping[Any, Any], check_values: bool) -> bool:
    """Whether a labels or annotations block breaks no rule (the common case, answered fast)."""
    if not _known_good(block, _GOOD_KEY_SETS, _prefixed_key):
        return False
    if not all(map(isinstance, block.values(), _STR)):
        return False
    return not check_values or all(not value or _object_name(value) for value in block.values())


def entity_problems(entity: Mapping[str, Any]) -> list[str]:
    """Every rule the entity breaks, each naming the field and the rule; empty when valid."""
    problems: list[str] = []
    api_version = entity.get("apiVersion")
    if not (isinstance(api_version, str) and _api_version(api_version)):
        problems.append(f"apiVersion {api_version!r} is not of the form [group/]version")
    kind = entity.get("kind")
    if not (isinstance(kind, str) and _kind(kind)):
        problems.append(f"kind {kind!r} must be letters and digits, starting with a letter")
    metadata = entity.get("metadata")
    if not isinstance(metadata, Mapping):
        return [*problems, "metadata must be an object"]
    name = metadata.get("name")
    if not (isinstance(name, str) and _object_name(name)):
        problems.append(f"metadata.name {name!r} must be 1-63 characters of [a-zA-Z0-9] separated by [-_.]")
    namespace = metadata.get("namespace")
    if namespace is not None and not (isinstance(namespace, str) and _dns_label(namespace)):
        problems.append(f"metadata.namespace {namespace!r} must be a lower-case DNS label (a-z, 0-9, '-'), 1-63 chars")
    for field_name in ("title", "description"):
        if field_name in metadata and not isinstance(metadata[field_name], str):
            problems.append(f"metadata.{field_name} must be a string")
    for field_name, check_values in (("labels", True), ("annotations", False)):
        block = metadata.get(field_name)
        if block is None:
            continue
        if not isinstance(block, Mapping):
            problems.append(f"metadata.{field_name} must be an object")
            continue
        if _block_is_valid(block, check_values):
            continue
        for key, value in block.items():
            if not (isinstance(key, str) and _prefixed_key(key)):
                problems.append(f"metadata.{field_name} key {key!r} is not a valid [prefix/]name key")
            if not isinstance(value, str):
                problems.append(f"metadata.{field_name}[{key!r}] must be a string, got {type(value).__name__}")
            elif check_values and value and not _object_name(value):
                problems.append(f"metadata.labels[{key!r}] value {value!r} is not a valid label value")
    tags = metadata.get("tags")
    if tags is not None:
        if not isinstance(tags, list):
            problems.append("metadata.tags must be a list")
        elif not _known_good(tags, _GOOD_TAG_LISTS, _tag):
            for tag in tags:
                if not (isinstance(tag, str) and _tag(tag)):
                    problems.append(f"metadata.tags entry {tag!r} must be 1-63 chars of [a-z0-9:+#] separated by '-'")
    links = metadata.get("links")
    if links is not None and not (
        isinstance(links, list) and all(isinstance(x, Mapping) and isinstance(x.get("url"), str) for x in links)
    ):
        problems.append("metadata.links must be a list of objects with a string url")
    spec = entity.get("spec")
    if spec is not None and not isinstance(spec, Mapping):
        problems.append("spec must be an object")
    return problems
