"""``entity_problems`` remembers valid key sets and tag lists; a broken entity must still be listed in full.

The shortcut (``validation._known_good``) answers "no problem" for a labels or annotations
block whose key tuple, or a tag list, was seen valid before. These damage an entity whose key
tuple and tags are already remembered, and check every problem is reported exactly as on a cold
cache, and as the rules say.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from openchoreo_sync.validation import entity_problems, forget_memos


def valid() -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "svc",
            "namespace": "team-a",
            "title": "Svc",
            "tags": ["openchoreo", "component", "service"],
            "annotations": {"openchoreo.io/component": "svc", "backstage.io/managed-by-location": "provider:x"},
            "labels": {"openchoreo.io/managed": "true", "app": ""},
        },
        "spec": {"type": "service"},
    }


def set_path(entity: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    target = entity
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return entity


DAMAGE: list[tuple[str, Callable[[dict[str, Any]], Any], list[str]]] = [
    (
        "annotation-value-not-a-string",
        lambda e: set_path(e, ("metadata", "annotations", "openchoreo.io/component"), 5),
        ["metadata.annotations['openchoreo.io/component'] must be a string, got int"],
    ),
    (
        "label-value-invalid",
        lambda e: set_path(e, ("metadata", "labels", "app"), "not valid!"),
        ["metadata.labels['app'] value 'not valid!' is not a valid label value"],
    ),
    (
        "label-value-none",
        lambda e: set_path(e, ("metadata", "labels", "app"), None),
        ["metadata.labels['app'] must be a string, got NoneType"],
    ),
    (
        "tag-invalid-same-length",
        lambda e: set_path(e, ("metadata", "tags"), ["openchoreo", "Component", "service"]),
        ["metadata.tags entry 'Component' must be 1-63 chars of [a-z0-9:+#] separated by '-'"],
    ),
    (
        "tag-not-a-string",
        lambda e: set_path(e, ("metadata", "tags"), ["openchoreo", 7]),
        ["metadata.tags entry 7 must be 1-63 chars of [a-z0-9:+#] separated by '-'"],
    ),
    (
        "annotation-key-invalid",
        lambda e: set_path(e, ("metadata", "annotations"), {"bad key": "x", "openchoreo.io/component": "svc"}),
        ["metadata.annotations key 'bad key' is not a valid [prefix/]name key"],
    ),
    (
        "label-key-not-a-string",
        lambda e: set_path(e, ("metadata", "labels"), {1: "x"}),
        ["metadata.labels key 1 is not a valid [prefix/]name key"],
    ),
    (
        "kind-too-long",
        lambda e: set_path(e, ("kind",), "K" * 64),
        [f"kind {'K' * 64!r} must be letters and digits, starting with a letter"],
    ),
    (
        "kind-not-a-string",
        lambda e: set_path(e, ("kind",), ["Component"]),
        ["kind ['Component'] must be letters and digits, starting with a letter"],
    ),
    (
        "two-problems-in-order",
        lambda e: set_path(
            set_path(e, ("metadata", "annotations", "openchoreo.io/component"), 1.5), ("metadata", "tags"), ["A", "b"]
        ),
        [
            "metadata.annotations['openchoreo.io/component'] must be a string, got float",
            "metadata.tags entry 'A' must be 1-63 chars of [a-z0-9:+#] separated by '-'",
        ],
    ),
]


@pytest.mark.parametrize("damage, expected", [(d, e) for _, d, e in DAMAGE], ids=[name for name, _, _ in DAMAGE])
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_damage_is_reported_whatever_was_seen_valid(
    cache: str, damage: Callable[[dict[str, Any]], Any], expected: list[str]
) -> None:
    forget_memos()
    if cache == "warm":
        for _ in range(2):
            assert entity_problems(valid()) == []
    broken = valid()
    damage(broken)
    assert entity_problems(broken) == expected
    assert entity_problems(copy.deepcopy(broken)) == expected  # and again, now that it was seen
    assert entity_problems(valid()) == []


def test_a_full_table_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    from openchoreo_sync import validation

    forget_memos()
    monkeypatch.setattr(validation, "_GOOD_MAX", 2)
    for index in range(6):
        entity = valid()
        entity["metadata"]["annotations"] = {f"k{index}": "v"}
        assert entity_problems(entity) == []
        assert len(validation._GOOD_KEY_SETS) <= 2
    entity = valid()
    entity["metadata"]["annotations"] = {"k5": 0}
    assert entity_problems(entity) == ["metadata.annotations['k5'] must be a string, got int"]
