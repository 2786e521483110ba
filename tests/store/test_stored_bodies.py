"""Stored bodies decode exactly as ``json`` decodes them, orjson or not (``store.bodies.load_body``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openchoreo_sync.store.bodies import encode_body, load_body

EDGES = [
    '{"n": 18446744073709551616}',  # 2**64: orjson would give a float
    '{"n": -9223372036854775809}',  # below int64
    '{"n": 99999999999999999999999, "s": "x"}',
    '{"id": "1234567890123456789012"}',  # a long digit run in a string: decoded by json, same answer
    '{"s": "\\ud800"}',  # a lone surrogate escape, which orjson refuses
    '{"f": 0.1, "g": -0.0, "e": 1e308, "u": "ünïcødé ✓", "i": 9223372036854775807}',
]


@pytest.mark.parametrize("text", EDGES)
def test_edge_bodies_decode_as_json_decodes_them(text: str) -> None:
    expected = json.loads(text)
    for stored in (text, encode_body(text)):  # PostgreSQL's text, SQLite's LZ4 blob
        decoded = load_body(stored)
        assert decoded == expected
        assert [type(v) for v in decoded.values()] == [type(v) for v in expected.values()]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_any_body_decodes_as_json_decodes_it(entity: dict[str, object]) -> None:
    text = json.dumps(entity, ensure_ascii=False)
    assert json.dumps(load_body(encode_body(text))) == json.dumps(json.loads(text))
