"""``kit.yaml_emit`` writes exactly the bytes PyYAML's libyaml dumper writes, or hands over to it.

Every comparison is against :func:`publishing.pyyaml_dump` (PyYAML itself, same settings): the
golden entities, adversarial strings in every position an entity puts a scalar, generated
documents (hypothesis, with widths that make libyaml fold), and what this emitter must leave to
PyYAML. The published 10k world is compared in ``tests/outputs/test_published_bytes.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openchoreo_sync.kit import yaml_emit
from openchoreo_sync.kit.publishing import clean_entity, dump_entities, pyyaml_dump, scalar_cache
from openchoreo_sync.model import entity_ref

GOLDEN = Path(__file__).resolve().parents[1] / "families" / "golden"


def ours(docs: list[Any], *, sort_keys: bool = True, width: int = 4096) -> tuple[str, list[Any]]:
    """Our text and the documents handed to PyYAML on the way."""
    handed: list[Any] = []

    def fallback(part: list[Any]) -> str:
        handed.extend(part)
        return pyyaml_dump(part, sort_keys=sort_keys, width=width)

    text = yaml_emit.dump_json_documents(
        docs, cache=scalar_cache(), sort_keys=sort_keys, width=width, fallback=fallback
    )
    return text, handed


def assert_same(docs: list[Any], *, sort_keys: bool = True, width: int = 4096, fast: bool = True) -> None:
    text, handed = ours(docs, sort_keys=sort_keys, width=width)
    assert text == pyyaml_dump(docs, sort_keys=sort_keys, width=width)
    if fast:
        assert not handed, "rendered by PyYAML, not by the emitter under test"


def placements(value: Any) -> list[Any]:
    """``value`` everywhere an entity puts a scalar: mapping values at depth, sequence items, keys."""
    return [
        {"k": value},
        {"a": {"b": {"c": value}}, "z": 1},
        {"l": [value, "x"]},
        {"l": [{"k": value, "j": value}]},
        {"l": [[value], [[value]]]},
        [value],
        [{"k": value}],
    ]


ASCII = [chr(code) for code in range(128)]
INDICATORS = [
    *"-?:,[]{}#&*!|>'\"%@`=<~.",
    "- a",
    "-a",
    "? a",
    "?a",
    ":a",
    ": a",
    "a:",
    "a: b",
    "a:b",
    "a :b",
    "a #b",
    "a#b",
    "#a",
    "---",
    "--- a",
    "...",
    "....",
    "..a",
    "--",
    "a'b",
    "'a'",
    '"a"',
    "a\\b",
    "\\",
    "<<",
    "=",
    "a,b",
    "[a]",
    "{a: b}",
    "a]",
    "http://example.com/a?b=c#d",
    "component:default/x",
    "!!str",
    "&anchor",
    "*alias",
    "%TAG",
    "@at",
]
SPACES = [" ", "  ", " a", "a ", " a ", "a  b", "a b", "\ta", "a\t", "a\tb", "\t", "a \tb"]
BREAKS = [
    "\n",
    "a\n",
    "\na",
    "a\nb",
    "a\n\nb",
    "a \nb",
    "a\n b",
    "a\r\nb",
    "\r",
    "a\rb",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "\u2028",
    "a\n\n",
    "'\n'",
    "a\nb\n",
    "line one\nline two\n  indented\n",
    "openapi: 3.0.3\ninfo:\n  title: x\n",
]
UNICODE = [
    "\ufeff",
    "a\ufeffb",
    "\x7f",
    "\xa0",
    "a\xa0b",
    "\ufffe",
    "\uffff",
    "\ufffd",
    "\ud7ff",
    "\ue000",
    "😀",
    "a😀b",
    "\U0010ffff",
    "ü",
    "日本語",
    "é: x",
    "Ωmega",
    "\u200b",
    "\u00ad",
    "\u0300a",
    *[chr(code) for code in range(0x80, 0xA0)],
]
RESOLVED = [
    "yes",
    "Yes",
    "YES",
    "no",
    "No",
    "NO",
    "on",
    "On",
    "off",
    "OFF",
    "y",
    "Y",
    "n",
    "N",
    "true",
    "True",
    "FALSE",
    "null",
    "Null",
    "NULL",
    "~",
    "",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1:20",
    "190:20:30",
    "-1",
    "+1",
    "0",
    "00",
    "-0",
    "017",
    "1,000",
    "1e3",
    "1E3",
    "1.5",
    ".5",
    "3.",
    "1.0e+3",
    "-1.5e-3",
    "1_000.5",
    ".inf",
    "-.Inf",
    "+.INF",
    ".NaN",
    ".nan",
    "2026-01-01",
    "2026-01-01 10:00:00",
    "2026-1-1T1:1:1Z",
    "2026-01-01t10:00:00.5+02:00",
    "20260101",
    "<<",
    "=",
    "yes please",
    "nullable",
    "0.0.1",
    "1.2.3",
]
EVERYTHING = [
    *INDICATORS,
    *SPACES,
    *BREAKS,
    *UNICODE,
    *RESOLVED,
    *ASCII,
    *[c + "a" for c in ASCII],
    *["a" + c for c in ASCII],
    *["a" + c + "b" for c in ASCII],
    *["a " + c + " b" for c in ASCII],
    *[c + " a" for c in ASCII],
]


@pytest.mark.parametrize("value", EVERYTHING, ids=repr)
def test_every_adversarial_string_in_every_place(value: str) -> None:
    assert_same(placements(value))
    assert_same(placements(value), sort_keys=False, width=80)


@pytest.mark.parametrize(
    "value", [v for v in EVERYTHING if "\n" not in v and "\r" not in v and v[-1:] not in "\x85\u2028\u2029"]
)
def test_as_a_key(value: str) -> None:
    simple = yaml_emit._BREAK(value) is None
    assert_same([{value: "v", "other": {value: [value]}}], fast=simple)


def words(length: int, word: str = "word") -> str:
    text = ""
    while len(text) < length:
        text += word + " "
    return text[:length].rstrip() + "x"


LONG = [
    *[words(n) for n in range(60, 100, 3)],
    *[words(n, "ab  cd") for n in range(60, 100, 7)],  # double spaces next to a fold point
    *["'" + words(n) for n in range(60, 100, 5)],  # single-quoted
    *["a\t" + words(n) for n in range(60, 100, 5)],  # double-quoted
    *["\t" + words(n) + " " for n in range(60, 100, 9)],  # double-quoted with edge spaces
    *["a: " + words(n) + "\n" + words(n) for n in range(60, 100, 9)],  # single-quoted, multi-line
    *[words(n) for n in range(4060, 4110, 7)],
    *["'" + words(n) for n in range(4070, 4100, 9)],
    *["\t" + words(n) for n in range(4070, 4100, 9)],
    "x" * 5000,
    " ".join(["x" * 100] * 60),
]


@pytest.mark.parametrize("width", [20, 80, 4096])
@pytest.mark.parametrize("value", LONG, ids=lambda v: f"{len(v)}:{v[:8]!r}")
def test_long_strings_fold_where_libyaml_folds_them(value: str, width: int) -> None:
    assert_same(placements(value), width=width)


def golden_entities() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted([*GOLDEN.glob("*/entities.yaml"), *GOLDEN.glob("*/*.expected.yaml")]):
        for doc in yaml.safe_load_all(path.read_text().replace("{templates}", "http://127.0.0.1:7007/templates")):
            items = doc if isinstance(doc, list) else [doc]
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("entity"), dict):
                    found.append(item["entity"])
                elif isinstance(item, dict) and "apiVersion" in item and "kind" in item and "metadata" in item:
                    found.append(item)
    return found


def test_golden_entities_are_written_by_the_emitter_byte_for_byte() -> None:
    entities = [clean_entity(e) for e in golden_entities()]
    assert len(entities) > 20
    ordered = sorted(entities, key=entity_ref)
    assert_same(ordered)
    assert dump_entities(entities) == pyyaml_dump(ordered).encode()
    assert_same(entities, sort_keys=False, width=80)  # the export's settings


def test_a_cache_that_starts_over_writes_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache restarts every ``_CACHE_LIMIT`` strings (a 50k-component publication does)."""
    entities = sorted((clean_entity(e) for e in golden_entities()), key=entity_ref)
    cache = scalar_cache()
    monkeypatch.setattr(yaml_emit, "_CACHE_LIMIT", 3)
    text = yaml_emit.dump_json_documents(entities, cache=cache, sort_keys=True, width=4096, fallback=pyyaml_dump)
    assert len(cache.values) <= 3 and len(cache.keys) <= 3, "the limit bounds every table"
    assert text == pyyaml_dump(entities)


TRICKY = [*"-?:,[]{}#&*!|>'\"%@` \t\n\r\\~=<.0123456789abcynYNeE+_\x85\u2028\ufeff\x00\xa0é😀"]
text = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(blacklist_categories=("Cs",)), max_size=24)
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | text
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=24
)
documents = st.lists(st.dictionaries(text, values, max_size=6) | st.lists(values, max_size=4), max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents, sort_keys=st.booleans(), width=st.sampled_from([8, 20, 80, 4096]))
def test_generated_documents(docs: list[Any], sort_keys: bool, width: int) -> None:
    text, _ = ours(docs, sort_keys=sort_keys, width=width)
    assert text == pyyaml_dump(docs, sort_keys=sort_keys, width=width)


@pytest.mark.parametrize(
    "odd",
    [
        {"f": 1.5},
        {"f": [float("inf"), float("nan"), -0.0, 1e20]},
        {"t": (1, 2)},
        {1: "int key"},
        {"k" * 129: "long key"},
        {"é" * 65: "long key in bytes"},
        {"multi\nline": "key"},
        {None: "null key"},
        {"s": {"a"}},  # one item: a set of more would be ordered by hash seed, so xdist workers disagree
        {"b": b"bytes"},
    ],
    ids=repr,
)
def test_what_it_is_not_sure_of_goes_to_pyyaml_one_document_at_a_time(odd: dict[Any, Any]) -> None:
    docs = [{"kind": "A"}, odd, {"kind": "B"}]
    text, handed = ours(docs)
    assert handed == [odd]
    assert text == pyyaml_dump(docs)


def test_a_root_scalar_sends_the_whole_stream_to_pyyaml() -> None:
    docs: list[Any] = [{"kind": "A"}, "plain root", {"kind": "B"}]
    text, handed = ours(docs)
    assert handed == docs and text == pyyaml_dump(docs)


def test_a_lone_surrogate_fails_as_pyyaml_fails() -> None:
    with pytest.raises(UnicodeEncodeError):
        pyyaml_dump([{"k": "\ud800"}])
    with pytest.raises(UnicodeEncodeError):
        ours([{"k": "\ud800"}])


def test_empty_containers_and_the_empty_stream() -> None:
    assert_same([{}, [], {"a": {}, "b": []}, [[], {}], [[[]]]])
    assert ours([])[0] == pyyaml_dump([]) == ""
