"""Pause the cyclic garbage collector while a large, cycle-free structure is built or walked.

Decoding, preparing and rendering ~14k entities creates millions of dicts and lists that live
until the step ends; every generation-2 collection meanwhile re-scans all of them (~0.7 s of a
~3 s publication of 10k components, on this project's benchmark machine). They hold no reference
cycles and are freed by reference counting, so collection can wait. The pause is process-wide
(the collector is) and nests across threads: the collector is enabled again when the last pause
ends, and only if it was enabled when the first began.

Example::

    from openchoreo_sync.kit import paused_gc

    with paused_gc():
        publication = build(entities)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


def pause() -> None:
    """Begin a pause (end it with exactly one :func:`resume`)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1


def resume() -> bool:
    """End a pause; True when this ended the last one and enabled the collector again."""
    global _depth
    with _lock:
        if _depth == 0:
            raise RuntimeError("gcpause.resume() without a pause: the collector's state would be lost")
        _depth -= 1
        if _depth == 0 and _resume:
            gc.enable()
            return True
        return False


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside; the collector's state before the outermost pause is restored after."""
    pause()
    try:
        yield
    finally:
        resume()
