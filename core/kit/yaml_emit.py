"""YAML for JSON-shaped documents, byte for byte what PyYAML's libyaml dumper writes, for ~4x less CPU.

Why it exists: publishing 10k components is a ~16 MB stream, and through PyYAML most of its CPU
is the representer plus libyaml calling back into PyYAML's Python resolver twice per scalar. Here
each distinct string is analysed once (libyaml's ``analyze_scalar`` and ``select_scalar_style``,
PyYAML's own implicit resolvers) and its rendering is remembered; the structure (block mappings,
indentless sequences in mappings, ``{}``/``[]`` for empty containers, ``---`` starts) is written
as libyaml writes it for ``default_flow_style=False``, ``allow_unicode=True`` and
``explicit_start=True``. Column tracking follows libyaml's writers, so folding at ``width`` is the
same too (it only happens where a scalar could reach the width; everything else is cached text).

Anything it is not sure of raises :class:`Unsupported` and that document goes through PyYAML
instead: types other than dict/list/str/int/bool/None, keys that are not strings or not simple
keys (line breaks, over 128 UTF-8 bytes), strings with lone surrogates. A root that is not a
mapping or a list sends the whole stream to PyYAML (libyaml's ``...`` markers after root scalars
depend on the documents around them). ``tests/core/test_yaml_emit.py`` compares the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_BREAKS = frozenset("\r\n\x85\u2028\u2029")
_ESCAPES = {
    0x00: "0",
    0x07: "a",
    0x08: "b",
    0x09: "t",
    0x0A: "n",
    0x0B: "v",
    0x0C: "f",
    0x0D: "r",
    0x1B: "e",
    0x22: '"',
    0x5C: "\\",
    0x85: "N",
    0xA0: "_",
    0x2028: "L",
    0x2029: "P",
}
_MAX_SIMPLE_KEY = 128
"""libyaml writes a key longer than this (in UTF-8 bytes) as a complex key (``? ...``)."""

_CACHE_LIMIT = 65_536
"""Distinct strings remembered by one cache before it starts over (bounds its memory). A 10k-
component publication has ~57k (no restart); at 50k the run's peak is the files output rendering
while every entity is alive, and 200k renderings held there were ~15 MB more (docs/performance.md)."""

# A string that is surely fine as a plain block scalar (if it resolves to str): printable ASCII,
# no leading/trailing space, no indicator at its start, ':' only before a non-space, '#' never
# after a space. Everything else takes the full analysis below (once per distinct string).
_WORD = r"(?:[\x21-\x39\x3b-\x7e]|:(?=[\x21-\x7e]))"
_SURELY_PLAIN = re.compile(
    rf"[A-Za-z0-9_/$(^=+<;~\\)]{_WORD}*(?: +(?:[\x21\x22\x24-\x39\x3b-\x7e]|:(?=[\x21-\x7e])){_WORD}*)*"
).fullmatch


class Unsupported(Exception):
    """This document needs PyYAML: its bytes are not certain here."""


def _printable(code: int) -> bool:
    """libyaml's IS_PRINTABLE: tabs, C0/C1 controls, DEL, BOM, U+FFFE/F and non-BMP are not."""
    return (
        code == 0x0A or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


class ScalarCache:
    """Styles and renderings of strings already seen; share one across the dumps of one publication.

    ``values`` maps a string to its single-line rendering, or to "" when the rendering has line
    breaks (a single-quoted multi-line string: its indentation depends on where it is written; no
    rendering is ever empty, an empty string is ``''``).
    """

    def __init__(self, resolvers: Mapping[Any, list[tuple[str, Any]]]) -> None:
        self.resolvers = resolvers
        wildcard = list(resolvers.get(None, []))
        self._by_first = {first: [*candidates, *wildcard] for first, candidates in resolvers.items() if first}
        self._wildcard = wildcard
        self.values: dict[str, str] = {}
        self.styles: dict[str, str] = {}
        self.keys: dict[str, str] = {}

    def style(self, value: str) -> str:
        """``plain``, ``single`` or ``double``: libyaml's choice for a str-tagged block scalar."""
        style = self.styles.get(value)
        if style is None:
            style = self._choose(value)
            if len(self.styles) >= _CACHE_LIMIT:
                self.styles.clear()
            self.styles[value] = style
        return style

    def _choose(self, value: str) -> str:
        if _SURELY_PLAIN(value) is not None:
            block_plain, single = True, True
        else:
            block_plain, single = _analyze(value)
        plain = block_plain and self._resolves_to_str(value)
        return "plain" if plain else "single" if single else "double"

    def _resolves_to_str(self, value: str) -> bool:
        """PyYAML's ``Resolver.resolve`` for a plain scalar (implicit=(True, False)), as its emitter asks."""
        if not value:
            candidates = [*self.resolvers.get("", []), *self._wildcard]
        else:
            candidates = self._by_first.get(value[0], self._wildcard)
        return not any(regexp.match(value) for _, regexp in candidates)

    def value(self, value: str) -> str:
        """The rendering of ``value`` when nothing folds it, or "" when it spans lines."""
        text = self.values.get(value)
        if text is not None:
            return text
        style = self._choose(value)  # not kept: only folded or multi-line strings ask for it again
        if style == "plain":
            text = value
        elif style == "single":
            text = "" if _BREAK(value) else "'" + value.replace("'", "''") + "'"
        else:
            text = '"' + _NEEDS_ESCAPE(_escape_match, value) + '"'
        if len(self.values) >= _CACHE_LIMIT:
            self.values.clear()
        self.values[value] = text
        return text

    def key(self, key: str) -> str:
        """The rendering of a simple mapping key; Unsupported when libyaml would write ``? key``."""
        text = self.keys.get(key)
        if text is not None:
            return text
        if _BREAK(key) or (len(key) * 4 > _MAX_SIMPLE_KEY and len(key.encode()) > _MAX_SIMPLE_KEY):
            raise Unsupported("not a simple key")
        text = self.value(key)  # a simple key's style is a value's: multi-line keys are not simple
        if len(self.keys) >= _CACHE_LIMIT:
            self.keys.clear()
        self.keys[key] = text
        return text


_NEEDS_ESCAPE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]").sub
"""What libyaml escapes in double quotes: not printable, a break, a BOM, '"' or a backslash."""


def _escape_match(match: re.Match[str]) -> str:
    return _double_char(match.group())


def _double_char(ch: str) -> str:
    code = ord(ch)
    if not _printable(code) or code == 0xFEFF or ch in _BREAKS or ch == '"' or ch == "\\":
        short = _ESCAPES.get(code)
        if short is not None:
            return "\\" + short
        if code <= 0xFF:
            return f"\\x{code:02X}"
        if code <= 0xFFFF:
            return f"\\u{code:04X}"
        return f"\\U{code:08X}"
    return ch


_SURROGATE = re.compile(r"[\ud800-\udfff]").search
_SPECIAL = re.compile(r"[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]").search
"""Not printable for libyaml: tabs, C0/C1 controls but LF, DEL, BOM, U+FFFE/F, beyond the BMP."""
_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]").search
_BREAK_SPACE = re.compile(r"[\r\n\x85\u2028\u2029] ").search
_SPACE_BREAK = re.compile(r" [\r\n\x85\u2028\u2029]").search
_NOT_BLOCK_PLAIN = re.compile(r"\A(?:---|\.\.\.|[#,\[\]{}&*!|>'\"%@`]|[?:-](?: |\Z)| )|.: |:\Z| #| \Z", re.S).search
"""For a string without breaks or special characters (so its only blank is ' '): an indicator
where libyaml's ``analyze_scalar`` sees one for block context, or a leading/trailing space."""


def _analyze(value: str) -> tuple[bool, bool]:
    """libyaml's ``yaml_emitter_analyze_scalar`` (unicode on): (block plain allowed, single quotes allowed)."""
    if _SURROGATE(value):
        raise Unsupported("lone surrogate")  # PyYAML raises on encoding it; let it
    special = _SPECIAL(value) is not None
    if _BREAK(value) is not None:
        return False, not (special or _BREAK_SPACE(value) or _SPACE_BREAK(value))
    if special:
        return False, False
    return _NOT_BLOCK_PLAIN(value) is None, True


_FOLD_AT = re.compile(r"(?<! ) (?! )").finditer
"""Where libyaml may fold a plain or single-quoted scalar: a space after a non-space, before one."""
_FOLD_DOUBLE_AT = re.compile(r"(?<! ) ").finditer
"""Where it may fold a double-quoted one: a space after a non-space (a space after it is escaped)."""


def _fold(text: str, style: str, column: int, indent: int, width: int, out: list[str]) -> None:
    """Write a single-line rendering from ``column`` (after ``key:`` or ``-``) folded as libyaml folds.

    libyaml breaks a line at such a space once the column passes ``width`` (never at a quoted
    scalar's first or last character); after the break the line is indented to ``indent``.
    Checked per candidate space, not per character: this is the export's path at width 80.
    """
    if style == "plain":
        inner, closing, edges = text, "", False
        out.append(" ")
        base = column + 1
    else:
        inner, closing, edges = text[1:-1], text[-1], True
        out.append(" " + text[0])
        base = column + 2
    double = style == "double"
    last = len(inner) - 1
    newline = "\n" + " " * indent
    start = 0
    for match in (_FOLD_DOUBLE_AT if double else _FOLD_AT)(inner):
        at = match.start()
        if edges and (at == 0 or at == last):
            continue
        if base + at - start > width:
            out.append(inner[start:at])
            out.append(newline)
            start, base = at + 1, indent
            if double and at < last and inner[at + 1] == " ":
                out.append("\\")
                base += 1
    out.append(inner[start:])
    out.append(closing)


def _write_scalar(
    value: str, style: str, column: int, indention: bool, indent: int, width: int, out: list[str]
) -> None:
    """libyaml's plain/single/double writers with column tracking: folding and multi-line text.

    Called after ``key:`` or ``-`` (whitespace off), with breaks allowed (not a simple key).
    """
    whitespace = False
    length = len(value)
    last = length - 1

    def write_indent() -> None:
        nonlocal column, whitespace, indention
        if not indention or column > indent or (column == indent and not whitespace):
            out.append("\n")
            column = 0
        if column < indent:
            out.append(" " * (indent - column))
            column = indent
        whitespace = indention = True

    def put(text: str) -> None:
        nonlocal column
        out.append(text)
        column += len(text)

    def put_break(ch: str) -> None:
        nonlocal column
        out.append("\n" if ch == "\n" else ch)
        column = 0

    spaces = breaks = False
    if style == "plain":
        if not whitespace and length:
            put(" ")
        for i, ch in enumerate(value):
            if ch == " ":
                if not spaces and column > width and not (i < last and value[i + 1] == " "):
                    write_indent()
                else:
                    put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    put_break("\n")
                put_break(ch)
                indention = breaks = True
            else:
                if breaks:
                    write_indent()
                put(ch)
                indention = spaces = breaks = False
        return
    quote = "'" if style == "single" else '"'
    if not whitespace:
        put(" ")
    put(quote)
    whitespace = indention = False
    if style == "single":
        for i, ch in enumerate(value):
            if ch == " ":
                if not spaces and column > width and i != 0 and i != last and value[i + 1] != " ":
                    write_indent()
                else:
                    put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    put_break("\n")
                put_break(ch)
                indention = breaks = True
            else:
                if breaks:
                    write_indent()
                put("''" if ch == "'" else ch)
                indention = spaces = breaks = False
        if breaks:
            write_indent()
    else:
        for i, ch in enumerate(value):
            escaped = _double_char(ch)
            if escaped is not ch:
                put(escaped)
                spaces = False
            elif ch == " ":
                if not spaces and column > width and i != 0 and i != last:
                    write_indent()
                    if value[i + 1] == " ":
                        put("\\")
                else:
                    put(ch)
                spaces = True
            else:
                put(ch)
                spaces = False
    put(quote)


class _Emitter:
    """One stream's settings and the cache; ``document`` renders one root mapping or list."""

    def __init__(self, cache: ScalarCache, sort_keys: bool, width: int, marker: tuple[str, str] | None) -> None:
        self.cache = cache
        self.sort_keys = sort_keys
        self.width = width
        self.marker = marker

    def document(self, doc: Any) -> str:
        out = ["---"]
        kind = type(doc)
        if kind is dict:
            if doc:
                self.mapping(doc, 0, False, out)
            else:
                out.append(" {}")
        elif doc:
            self.sequence(doc, 0, False, out)
        else:
            out.append(" []")
        out.append("\n")
        return "".join(out)

    def mapping(self, data: dict[Any, Any], indent: int, inline: bool, out: list[str]) -> None:
        """A non-empty block mapping at ``indent``; ``inline``: its first key follows a ``-``."""
        if len(data) == 1 and self.marker is not None:
            (only,) = data
            if type(only) is str and only.startswith("$"):
                data = {**data, self.marker[0]: self.marker[1]}
        if self.sort_keys:
            try:
                keys: Iterable[Any] = sorted(data)
            except TypeError:
                raise Unsupported("unsortable keys") from None
        else:
            keys = data
        cache = self.cache
        known_keys = cache.keys.get
        known = cache.values.get
        width = self.width - indent - 2  # a value fits when its key, ": " and itself are within this
        newline = "\n" + " " * indent
        nested = indent + 2
        append = out.append
        prefix = " " if inline else newline
        for key in keys:
            if type(key) is not str:
                raise Unsupported("a key that is not a string")
            value = data[key]
            key_text = known_keys(key) or cache.key(key)
            kind = type(value)
            if kind is str:
                text = known(value) or cache.value(value)
                if text and len(key_text) + len(text) <= width:
                    append(f"{prefix}{key_text}: {text}")
                else:
                    append(f"{prefix}{key_text}:")
                    column = indent + len(key_text) + 1
                    if text:
                        _fold(text, cache.style(value), column, nested, self.width, out)
                    else:
                        _write_scalar(value, cache.style(value), column, False, nested, self.width, out)
            elif kind is dict:
                if value:
                    append(f"{prefix}{key_text}:")
                    self.mapping(value, nested, False, out)
                else:
                    append(f"{prefix}{key_text}: {{}}")
            elif kind is list:
                if value:
                    append(f"{prefix}{key_text}:")
                    self.sequence(value, indent, False, out)  # indentless in a mapping
                else:
                    append(f"{prefix}{key_text}: []")
            else:
                append(f"{prefix}{key_text}: {_plain_scalar(value)}")
            prefix = newline

    def sequence(self, data: list[Any], indent: int, inline: bool, out: list[str]) -> None:
        """A non-empty block sequence whose dashes are at ``indent``; ``inline``: after a ``-``."""
        cache = self.cache
        known = cache.values.get
        width = self.width - indent - 2  # a value fits when "- " and itself are within this
        dash = "\n" + " " * indent + "-"
        nested = indent + 2
        append = out.append
        prefix = " -" if inline else dash
        for item in data:
            kind = type(item)
            if kind is str:
                text = known(item) or cache.value(item)
                if text and len(text) <= width:
                    append(f"{prefix} {text}")
                else:
                    append(prefix)
                    if text:
                        _fold(text, cache.style(item), indent + 1, nested, self.width, out)
                    else:
                        _write_scalar(item, cache.style(item), indent + 1, True, nested, self.width, out)
            elif kind is dict:
                append(prefix)
                if item:
                    self.mapping(item, nested, True, out)
                else:
                    append(" {}")
            elif kind is list:
                append(prefix)
                if item:
                    self.sequence(item, nested, True, out)
                else:
                    append(" []")
            else:
                append(f"{prefix} {_plain_scalar(item)}")
            prefix = dash


def _plain_scalar(value: Any) -> str:
    """bool, int and None as SafeRepresenter writes them (always plain: they resolve to their tags)."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)  # ValueError past Python's digit limit: PyYAML raises it too
    if value is None:
        return "null"
    raise Unsupported(f"a {kind.__name__}")


def dump_json_documents(
    documents: Iterable[Any],
    *,
    cache: ScalarCache,
    sort_keys: bool,
    width: int,
    fallback: Callable[[list[Any]], str],
    lone_dollar_marker: tuple[str, str] | None = None,
) -> str:
    """``yaml.dump_all(documents, explicit_start=True, allow_unicode=True, default_flow_style=False)``.

    ``fallback`` dumps a list of documents with PyYAML and the same settings; it gets each document
    this emitter is not sure of, or the whole stream when a root is neither a mapping nor a list.
    ``lone_dollar_marker``: a (key, value) written into every mapping whose only key is a string
    starting with ``$``, as if the document had it (publishing defuses Backstage placeholders so,
    as it writes, instead of copying every container first); ``fallback`` must do the same.
    """
    docs = list(documents)
    if any(type(doc) is not dict and type(doc) is not list for doc in docs):
        return fallback(docs)
    emitter = _Emitter(cache, sort_keys, width if width > 4 else 80, lone_dollar_marker)
    parts: list[str] = []
    for doc in docs:
        try:
            parts.append(emitter.document(doc))
        except (Unsupported, ValueError):
            parts.append(fallback([doc]))
    return "".join(parts)
