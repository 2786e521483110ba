"""Scratch directories for a first commit's stage, beside the state file, and what a killed process left.

A first sync's stage holds every search row twice (the worker's rows and their presorted copy:
26 MB at 10k components, 130 MB at 50k) until the commit. In ``/tmp`` that is often the wrong
place: a tmpfs keeps it in memory, and a container's ``/tmp`` is a small volume (the Kubernetes
manifests give it 64 MiB, and a pod that overflows its ``emptyDir`` is evicted). Next to the
state file it is on the volume sized for the catalog, and on the same filesystem the commit
reads it from.

A process killed during a first sync cannot remove its directory. The directory's name carries
its process id, so the next stage made beside the same state file removes those whose process is
gone (or is this process, which makes one stage at a time, under a new life after a restart with
the same pid, as a container's first process has).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..logs import get_logger

log = get_logger("openchoreo_sync.store")

PREFIX = ".openchoreo-stage-"

_live: set[Path] = set()
"""This process's stage directories not yet removed: never taken for leftovers."""


def make_scratch_dir(directory: Path) -> Path:
    """A new private directory in ``directory`` (raises OSError), after removing leftovers there."""
    remove_leftovers(directory)
    made = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=directory))
    _live.add(made)
    return made


def remove_scratch_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _live.discard(path)


def remove_leftovers(directory: Path) -> list[Path]:
    """Remove the stage directories in ``directory`` whose process is gone; the ones removed."""
    removed: list[Path] = []
    try:
        candidates = [p for p in directory.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    except OSError:
        return removed
    for path in sorted(candidates):
        pid = _owner(path.name)
        if pid is None or path in _live or _alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
            log.info("removed the first-commit scratch directory of a stopped process", path=str(path), pid=pid)
    return removed


def _owner(name: str) -> int | None:
    head = name[len(PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process's own live directories are in ``_live``
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process (EPERM): alive, not ours to judge
    return True
