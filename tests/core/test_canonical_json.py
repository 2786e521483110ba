"""The stored body is ``json.dumps``' canonical text, whichever encoder wrote it.

Every stored hash, etag and served body is made of this text: an encoder that wrote a float, a
big int or a subclass differently would make every entity look changed after an upgrade (and
serve different bytes). orjson writes most entities; these pin that the text never differs.
"""

from __future__ import annotations

import enum
import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openchoreo_sync.serialization import canonical_json, serialize


def reference(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Text(str):
    pass


class Number(int):
    pass


class Colour(enum.Enum):
    RED = "red"


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text().map(Text),
    st.integers(min_value=-5, max_value=5).map(Number),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=12,
)


def outcome(encode: Any, value: Any) -> tuple[str, str]:
    try:
        return "text", encode(value)
    except (TypeError, ValueError, UnicodeError) as exc:
        return "error", type(exc).__name__


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), values, max_size=5))
def test_canonical_json_is_json_dumps_text_for_any_json_like_entity(entity: dict[str, Any]) -> None:
    assert outcome(canonical_json, entity) == outcome(reference, entity)


@pytest.mark.parametrize(
    "entity",
    [
        {"spec": {"ratio": 1e-05, "big": 1e16, "half": 0.5}},  # orjson: 0.00001, 1e16
        {"spec": {"nan": float("nan"), "inf": float("-inf")}},  # orjson: null
        {"spec": {"huge": 2**64, "list": [1, -(2**63) - 1]}},  # orjson refuses
        {"metadata": {"name": "x", "labels": {2: "b", 1: "a"}}},  # orjson refuses a non-text key
        {"metadata": {"name": Text("sub"), "n": Number(3), "t": ("a", 1)}},
        {"metadata": {"name": 'é😀\u2028\x00\x1f"\\\x7f', "tags": [None, True, False, 0]}},
    ],
)
def test_entities_orjson_would_write_differently_get_the_same_text(entity: dict[str, Any]) -> None:
    body, _digest = serialize(entity)
    assert body == reference(entity)


@pytest.mark.parametrize(
    "value", [Colour.RED, MappingProxyType({"a": 1}), {1, 2}, b"bytes", object()], ids=lambda v: type(v).__name__
)
def test_what_json_dumps_refuses_is_refused_as_before(value: Any) -> None:
    """orjson would encode an enum or a datetime; the stored text must not exist where it did not."""
    with pytest.raises(TypeError):
        reference({"spec": {"x": value}})
    with pytest.raises(TypeError):
        canonical_json({"spec": {"x": value}})
