"""Publish snapshot entities to a Backstage: clean them, dump them as YAML, respect ``catalog.rules``.

Shared by every output that hands entities to a Backstage (the ``backstage`` and ``files``
outputs), so they publish byte-identical entities. Output is deterministic (sorted keys, entities
sorted by ref) because outputs decide whether a file changed by comparing bytes: a reordering must
never look like a change.

Backstage rejects a *whole location file* when one entity's kind is not allowed by
``catalog.rules``, and keeps the file frozen from then on; OpenChoreo's official module drops such
entities silently. :func:`filter_allowed` reads the same key (from this daemon's config, usually
the same app-config), leaves disallowed kinds out and says exactly which line to change.

Example::

    from openchoreo_sync.kit.publishing import dump_entities, filter_allowed, strip_computed

    preflight = filter_allowed((body for _, body in snapshot.entities(with_relations=False)), ctx.config)
    yaml_bytes = dump_entities(strip_computed(e) for e in preflight.allowed)  # defused as it is written
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..config import AppConfig
from ..model import Entity, entity_ref
from .yaml_emit import ScalarCache, dump_json_documents

COMPUTED_METADATA = ("uid", "etag", "generation")
"""Metadata Backstage assigns itself; a value we sent would only be overwritten or rejected."""

LOCATION_ANNOTATIONS = ("backstage.io/managed-by-location", "backstage.io/managed-by-origin-location")
"""Backstage sets these to the location it read the entity from; ours would claim a provider."""

PLACEHOLDER_MARKER = "openchoreoEscaped"
"""Added next to a lone ``$key`` so Backstage's placeholder processor leaves the object alone."""
PLACEHOLDER_VALUE = "placeholder"


def defuse_placeholders(value: Any) -> Any:
    """Copy ``value`` so no object is a Backstage placeholder (``{$text|$json|$yaml: url}``).

    Backstage resolves a single-key object whose key starts with ``$`` by *reading a URL*: OpenChoreo
    text must stay data, so such an object gets a sibling marker key (Backstage leaves objects
    with more than one key untouched). The original key and value are kept as they were.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most values: no ABC check
        return value
    if kind is dict or isinstance(value, Mapping):
        out = {str(k): v if type(v) is str else defuse_placeholders(v) for k, v in value.items()}
        if len(out) == 1 and next(iter(out)).startswith("$"):
            out[PLACEHOLDER_MARKER] = PLACEHOLDER_VALUE
        return out
    if kind is list or isinstance(value, list | tuple):
        return [v if type(v) is str else defuse_placeholders(v) for v in value]
    return value


def strip_computed(entity: Entity) -> Entity:
    """:func:`clean_entity` without defusing placeholders, for :func:`dump_entities` (which defuses).

    Only the levels keys are removed from (the entity, ``metadata``, its ``annotations``) are
    copied; everything below is shared with ``entity``, so nothing here may be changed in place.
    """
    out = {key: value for key, value in entity.items() if key != "relations"}
    metadata = {key: value for key, value in (out.get("metadata") or {}).items() if key not in COMPUTED_METADATA}
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        kept = {key: value for key, value in annotations.items() if key not in LOCATION_ANNOTATIONS}
        if kept:
            metadata["annotations"] = kept
        else:
            metadata.pop("annotations")
    out["metadata"] = metadata
    return out


def clean_entity(entity: Entity) -> Entity:
    """A copy without what Backstage computes itself (relations, uid, location annotations).

    :func:`strip_computed` copies the levels it removes keys from; ``defuse_placeholders`` then
    copies every container, after the removals, so a ``$key`` left alone by them is still defused.
    To publish, ``dump_entities(strip_computed(e) ...)`` writes the same bytes without the copies.
    """
    result: Entity = defuse_placeholders(strip_computed(entity))
    return result


_SafeBase: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: same bytes, ~6x faster


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_BOOL, _INT, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"


class _Dumper(_SafeBase):  # type: ignore[misc]
    """A safe dumper that never emits anchors/aliases: every entity document stands on its own.

    Representing (Python objects to YAML nodes) is PyYAML's pure-Python half of a dump, and most
    of the backstage output's emit at 10k entities. For the JSON types entities are made of it
    builds the very nodes ``SafeRepresenter`` builds (same tags, styles and key order), without
    its per-object dispatch (0.20 s to 0.14 s for 5,000 entities). Other types take PyYAML's own
    path. The rest of a dump is libyaml's emitter calling back into the Python resolver twice per
    scalar; remembering resolved tags did not pay for its own lookups.
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> Any:
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style=self.default_style)
        if kind is dict:
            items = list(data.items())
            if self.sort_keys:
                with contextlib.suppress(TypeError):  # PyYAML leaves unsortable keys as they are
                    items = sorted(items)
            represent = self.represent_data
            pairs = [(represent(key), represent(value)) for key, value in items]
            return yaml.MappingNode(_MAP, pairs, flow_style=self._flow(pairs))
        if kind is list:
            nodes = [self.represent_data(item) for item in data]
            return yaml.SequenceNode(_SEQ, nodes, flow_style=self._flow_seq(nodes))
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false", style=self.default_style)
        if kind is int:
            return yaml.ScalarNode(_INT, str(data), style=self.default_style)
        if data is None:
            return yaml.ScalarNode(_NULL, "null", style=self.default_style)
        return super().represent_data(data)

    def _flow(self, pairs: list[tuple[Any, Any]]) -> bool:
        if self.default_flow_style is not None:
            return bool(self.default_flow_style)
        return all(_plain_scalar(k) and _plain_scalar(v) for k, v in pairs)

    def _flow_seq(self, nodes: list[Any]) -> bool:
        if self.default_flow_style is not None:
            return bool(self.default_flow_style)
        return all(_plain_scalar(n) for n in nodes)


YamlDumper = _Dumper
"""The dumper for entity YAML elsewhere in the daemon (``openchoreo-sync export``)."""


def _plain_scalar(node: Any) -> bool:
    return isinstance(node, yaml.ScalarNode) and not node.style


def scalar_cache() -> ScalarCache:
    """A cache of scalar renderings for ``dump_entities``; share one across a publication's files."""
    return ScalarCache(_Dumper.yaml_implicit_resolvers)


PUBLISHED_WIDTH = 4096
"""Line width of published YAML: wide enough that libyaml practically never folds a value."""


def pyyaml_dump(documents: list[Any], *, sort_keys: bool = True, width: int | None = PUBLISHED_WIDTH) -> str:
    """The reference: what PyYAML (libyaml) writes for ``documents`` with the publishing settings."""
    text: str = yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=sort_keys,
        allow_unicode=True,
        explicit_start=True,
        default_flow_style=False,
        width=width,
    )
    return text


def _defused_pyyaml_dump(documents: list[Any]) -> str:
    return pyyaml_dump([defuse_placeholders(doc) for doc in documents])


def dump_entities(entities: Iterable[Entity], *, cache: ScalarCache | None = None) -> bytes:
    """A multi-document YAML stream of ``entities`` sorted by ref (empty stream for none), defused.

    The bytes are PyYAML's (:func:`pyyaml_dump`) for ``defuse_placeholders`` of each entity,
    written by :mod:`.yaml_emit` for JSON-shaped entities (PyYAML itself for any other document):
    ~4x less CPU at 10k components. The emitter adds the placeholder marker as it writes, so an
    entity need not be copied to be defused (defusing twice changes nothing: a marked object has
    two keys).
    """
    ordered = sorted(entities, key=entity_ref)
    if not ordered:
        return b""
    text = dump_json_documents(
        ordered,
        cache=cache if cache is not None else scalar_cache(),
        sort_keys=True,
        width=PUBLISHED_WIDTH,
        fallback=_defused_pyyaml_dump,
        lone_dollar_marker=(PLACEHOLDER_MARKER, PLACEHOLDER_VALUE),
    )
    return text.encode("utf-8")


BACKSTAGE_DEFAULT_ALLOW = ("Component", "API", "Location")
"""What Backstage allows when ``catalog.rules`` is not set at all."""


def configured_allow(config: AppConfig) -> list[str] | None:
    """The allowed kinds as written in ``catalog.rules`` (original spelling, in order), or None."""
    if config.catalog.rules is None:
        return None
    seen: dict[str, str] = {}
    for rule in config.catalog.rules:
        for kind in rule.allow:
            seen.setdefault(kind.lower(), kind)
    return list(seen.values())


def rules_line(allowed: Iterable[str], missing: Iterable[str]) -> str:
    """The ``catalog.rules`` line that would allow ``missing`` too, e.g. ``[{allow: [A, B, C]}]``."""
    kinds = list(dict.fromkeys([*allowed, *sorted(missing)]))
    return f"catalog.rules: [{{allow: [{', '.join(kinds)}]}}]"


@dataclass
class Preflight:
    """The entities that may be published, and the kinds that were held back (with counts)."""

    allowed: list[Entity]
    held_back: Counter[str] = field(default_factory=Counter)
    allow_list: list[str] | None = None

    def warning(self) -> str | None:
        if not self.held_back:
            return None
        kinds = ", ".join(f"{kind} ({count})" for kind, count in sorted(self.held_back.items()))
        return (
            f"kinds not allowed by catalog.rules are not published: {kinds}; Backstage would reject "
            f"every file holding one. To publish them, set "
            f"{rules_line(self.allow_list or [], self.held_back)} in the Backstage app-config "
            f"and in this daemon's config"
        )


def filter_allowed(entities: Iterable[Entity], config: AppConfig) -> Preflight:
    """Split ``entities`` by ``catalog.rules``; with no rules configured everything passes."""
    allow = configured_allow(config)
    if allow is None:
        return Preflight(list(entities))
    allowed_lower = {k.lower() for k in allow}
    result = Preflight([], Counter(), allow)
    for entity in entities:
        kind = str(entity.get("kind", ""))
        if kind.lower() in allowed_lower:
            result.allowed.append(entity)
        else:
            result.held_back[kind] += 1
    return result
