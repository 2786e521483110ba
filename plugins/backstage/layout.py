"""Split the published entities into location files, plus the index that points at them.

One file per (namespace, kind) by default: Backstage rejects a whole file for one disallowed kind,
and a file only ever holds one kind, so one bad kind (or namespace) can never freeze the rest.
``splitBy: entity`` goes further (one file per entity) for catalogs where even that is too coarse.

The index holds one ``kind: Location`` entity *per file*, not one Location listing every file:
Backstage reads all ``spec.targets`` of a Location entity while processing that one entity
(``runSpecialLocationStep``) and fails it as a whole when any target yields a disallowed kind,
and those targets get no Location entities of their own to refresh. One Location per file keeps
a rejection inside its file and gives every file a refreshable ref,
``location:default/<file location name>``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

import orjson

from openchoreo_sync import Entity, entity_ref
from openchoreo_sync.kit.publishing import dump_entities, scalar_cache

INDEX_FILE = "index.yaml"
SplitBy = Literal["kind", "entity"]


def location_ref(target_url: str) -> str:
    """The ref of the Location entity Backstage generates for a url location (see backstage.md)."""
    digest = hashlib.sha1(f"url:{target_url}".encode()).hexdigest()
    return f"location:default/generated-{digest}"


def index_location_name(root_url: str) -> str:
    """The name prefix of our Location entities: unique per publishing daemon, stable across restarts."""
    return "openchoreo-sync-" + hashlib.sha1(root_url.encode()).hexdigest()[:10]


def file_location_name(root_url: str, path: str) -> str:
    """The name of the Location entity that reads one file (<= 63 characters, stable)."""
    return f"{index_location_name(root_url)}-{hashlib.sha1(path.encode()).hexdigest()[:12]}"


def file_path(entity: Entity, split_by: SplitBy) -> str:
    """The path of the file (relative to the publish root) that holds ``entity``."""
    metadata = entity.get("metadata") or {}
    namespace = str(metadata.get("namespace") or "default")
    kind = str(entity.get("kind", "")).lower()
    if split_by == "entity":
        return f"{namespace}/{kind}/{metadata.get('name', '')}.yaml"
    return f"{namespace}/{kind}.yaml"


def quote_path(path: str) -> str:
    """Percent-encode each segment: the URL in the index must equal what Backstage resolves it to."""
    return "/".join(quote(part, safe="") for part in path.split("/"))


@dataclass
class Publication:
    """Everything published at one moment: file path -> YAML bytes, the index included."""

    root_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    """file path -> the refs of the entities in it (the index excluded)"""

    def url(self, path: str) -> str:
        return f"{self.root_url}/{quote_path(path)}"

    @property
    def index_url(self) -> str:
        return self.url(INDEX_FILE)

    def location_entity_ref(self, path: str) -> str:
        """What to refresh so Backstage re-reads ``path`` (and only it)."""
        return f"location:default/{file_location_name(self.root_url, path)}"

    def file_of(self) -> dict[str, str]:
        """ref -> the file path that holds it."""
        return {ref: path for path, refs in self.members.items() for ref in refs}

    def entity_files(self) -> list[str]:
        return sorted(p for p in self.files if p != INDEX_FILE)


@dataclass
class RenderedFiles:
    """The last build's files, each with a key of the documents it was rendered from.

    A file whose documents are the same again (the same prepared entities, in the same order) is
    taken as it was instead of rendered: after a run that changed nothing, or a few entities, most
    of an emit's YAML is already written. The bytes are the ones the served publication holds, so
    this keeps no second copy of them; the keys are 16 bytes per file.
    """

    files: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    """path -> (documents key, file bytes)"""


_NULL = re.compile(rb"[:\[,]null").search
_KEY_OPTIONS = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def documents_key(entities: Sequence[Entity]) -> bytes | None:
    """A digest of ``entities`` as orjson writes them, or None when one holds what orjson would
    write like something else: a subclass, a dataclass or a datetime (those raise here), NaN or
    an infinity (written ``null``: any ``null`` value in the text gives None).

    Equal keys mean equal YAML: the bytes are a function of the documents' JSON content and order
    (keys are sorted when written; a tuple is written as the list orjson makes of it, as
    ``dump_entities`` does after defusing).
    """
    digest = hashlib.blake2b(digest_size=16)
    try:
        for entity in entities:
            text = orjson.dumps(entity, option=_KEY_OPTIONS)
            if _NULL(text):  # also a string holding ":null": only a file not reused
                return None
            digest.update(text)
    except TypeError:
        return None
    return digest.digest()


def build_publication(
    entities: list[Entity], root_url: str, split_by: SplitBy, rendered: RenderedFiles | None = None
) -> Publication:
    """Group ``entities`` (already cleaned and filtered) into files and write the index for them.

    With ``rendered``, a file whose documents did not change since the last build is reused from
    it (and ``rendered`` then holds this build's files).
    """
    groups: dict[str, list[Entity]] = defaultdict(list)
    for entity in entities:
        groups[file_path(entity, split_by)].append(entity)
    publication = Publication(root_url)
    cache = scalar_cache()  # strings repeat across files (kinds, owners, refs): render each once
    before = rendered.files if rendered is not None else {}
    now: dict[str, tuple[bytes, bytes]] = {}
    for path in sorted(groups):
        group = groups[path]
        key = documents_key(group) if rendered is not None else None
        previous = before.get(path)
        if key is not None and previous is not None and previous[0] == key:
            content = previous[1]
        else:
            content = dump_entities(group, cache=cache)
        if key is not None:
            now[path] = (key, content)
        publication.files[path] = content
        publication.members[path] = sorted(entity_ref(e) for e in group)
    publication.files[INDEX_FILE] = dump_entities(file_location(publication, p) for p in sorted(groups))
    if rendered is not None:
        rendered.files = now
    return publication


def file_location(publication: Publication, path: str) -> Entity:
    """The index entry for one file: a Location entity with that single target."""
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": file_location_name(publication.root_url, path),
            "namespace": "default",
            "description": f"OpenChoreo entities mirrored by openchoreo-catalog-sync: {path}",
            "annotations": {
                "openchoreo.io/generated-by": "openchoreo-catalog-sync",
                "openchoreo.io/file": path,
            },
        },
        "spec": {"type": "url", "target": publication.url(path)},
    }


def changed_files(before: dict[str, str] | None, after: Publication) -> tuple[list[str], bool]:
    """Files whose content changed (existing before and after), and whether the index changed.

    ``before`` maps path -> content digest of what Backstage was last told about. New files are
    reached through the index (their Location entity does not exist yet); vanished files drop
    out of the index and Backstage's orphan cleanup removes their Location and its entities.
    """
    now = digests(after)
    if before is None:
        return after.entity_files(), True
    changed = [p for p in after.entity_files() if p in before and before[p] != now[p]]
    return changed, before.get(INDEX_FILE) != now[INDEX_FILE]


def digests(publication: Publication) -> dict[str, str]:
    return {p: hashlib.sha256(body).hexdigest() for p, body in publication.files.items()}
