"""Bring a directory in line with a snapshot: one YAML file per (namespace, family), plus an index.

Layout: ``<directory>/<namespace>/<family>.yaml`` where family is the plugin that produced the
entity (``components``, ``namespaces``...), ``<directory>/index.yaml`` (a ``kind: Location`` whose
relative targets list every file: register that one file as a ``type: file`` or url location),
and the manifest. Incremental runs re-render only files whose entities changed; every written
file is compared with what is on disk first, so unchanged files keep their mtime and inode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from openchoreo_sync import Entity, EntityRef
from openchoreo_sync.kit.publishing import dump_entities, scalar_cache, strip_computed

from .atomic import remove_file, write_atomic
from .manifest import Manifest

INDEX_NAME = "index.yaml"
UNKNOWN_FAMILY = "other"


@dataclass
class SyncReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


def safe_segment(text: str) -> str:
    """A path segment that cannot climb out of the directory or nest (``/``, ``..`` are escaped)."""
    quoted = quote(text, safe="-_.@")
    return f"_{quoted}" if quoted in ("", ".", "..") or quoted.startswith(".") else quoted


def file_for(entity: Entity, family: str) -> str:
    namespace = str((entity.get("metadata") or {}).get("namespace") or "default")
    return f"{safe_segment(namespace)}/{safe_segment(family)}.yaml"


def index_entity(paths: Iterable[str]) -> Entity:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": "openchoreo-sync-files",
            "description": "Entities mirrored from OpenChoreo by openchoreo-catalog-sync",
        },
        "spec": {"type": "file", "targets": [f"./{p}" for p in sorted(paths)]},
    }


def sync_directory(
    directory: Path,
    entities: Mapping[EntityRef, Entity],
    families: Mapping[EntityRef, str],
    *,
    touched: set[EntityRef],
    full: bool,
) -> SyncReport:
    """Write what changed, delete what this output wrote and no longer needs; return what it did.

    ``touched`` are the refs added or changed this run: a file is re-rendered when it holds one,
    when its set of refs changed (an entity left it), or on a ``full`` reconcile.
    """
    directory.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load(directory)
    groups: dict[str, list[EntityRef]] = defaultdict(list)
    for ref, entity in entities.items():
        groups[file_for(entity, families.get(ref, UNKNOWN_FAMILY))].append(ref)

    report = SyncReport()
    new_files: dict[str, list[str]] = {}
    cache = scalar_cache()  # strings repeat across files: render each once per write
    for path in sorted(groups):
        refs = sorted(groups[path])
        new_files[path] = refs
        if not full and manifest.files.get(path) == refs and touched.isdisjoint(refs):
            report.unchanged += 1
            continue
        content = dump_entities((strip_computed(entities[ref]) for ref in refs), cache=cache)  # defused as written
        if write_atomic(directory / path, content):
            report.written.append(path)
        else:
            report.unchanged += 1

    new_files[INDEX_NAME] = []
    if write_atomic(directory / INDEX_NAME, dump_entities([index_entity(groups)])):
        report.written.append(INDEX_NAME)

    for path in sorted(set(manifest.files) - set(new_files)):
        remove_file(directory / path, directory)
        report.removed.append(path)
    Manifest(new_files).save(directory)
    return report
