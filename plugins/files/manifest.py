"""The list of files this output wrote, so it never deletes a file it did not write.

The directory may be a GitOps checkout with a README, other teams' YAML, a ``.git`` folder: only
paths in the manifest are ever rewritten or deleted. Each entry also keeps the refs the file held,
which tells an incremental run which files a removed entity lived in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic

MANIFEST_NAME = ".openchoreo-sync-manifest.json"
VERSION = 1


@dataclass
class Manifest:
    files: dict[str, list[str]] = field(default_factory=dict)
    """relative path -> sorted refs it holds (empty list for the index)."""

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_NAME
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"{path}: unknown manifest version {data.get('version')!r}")
        return cls({str(k): list(v) for k, v in data.get("files", {}).items()})

    def dump(self) -> bytes:
        body = {"version": VERSION, "files": dict(sorted(self.files.items()))}
        return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()

    def save(self, directory: Path) -> bool:
        return write_atomic(directory / MANIFEST_NAME, self.dump())
