"""Hand the memory a run freed back to the operating system, and keep glibc's heaps few.

A daemon spends most of its life idle between runs. CPython returns its small-object arenas as
they empty, but what went through the C allocator (strings, lists and dict tables over 512 bytes,
API pages, SQLite's buffers) stays mapped in glibc's heaps until ``malloc_trim`` is asked to
release it. The engine asks after the fetch and after the commit too (well under 1 ms each at 50k
components): each frees a stage's worth of heap just before a later stage reaches the run's peak.

glibc also gives every thread that allocates a heap ("arena") of its own, up to eight per core;
the commit, the read API's threads and ``asyncio.to_thread`` each touch one and freed memory in
one is not reused by another. :func:`limit_malloc_arenas` caps them at process start (~10-20 MB
off a 50k-component run's peak, see docs/performance.md); an operator's ``MALLOC_ARENA_MAX``, which
glibc reads itself, is left to win.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

MALLOC_ARENAS = 2
"""Heaps glibc may create for the process's threads (its default: eight per core)."""

_M_ARENA_MAX = -8  # glibc's malloc.h
_trim: Callable[[int], int] | None = None
_mallopt: Callable[[int, int], int] | None = None
if sys.platform.startswith("linux"):
    # The C library the interpreter runs on, by its symbols already loaded (``find_library``
    # would start ``ldconfig``: milliseconds on every command's start).
    _libc = ctypes.CDLL(None)
    _trim = getattr(_libc, "malloc_trim", None)  # glibc only; musl has no such call
    _mallopt = getattr(_libc, "mallopt", None) if _trim is not None else None


def release_free_memory() -> bool:
    """Return freed heap pages to the OS where the C library can; True when it could."""
    if _trim is None:
        return False
    _trim(0)
    return True


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's heaps at ``arenas`` (call before threads start); True when it was set here.

    Not where the C library is not glibc, nor when ``MALLOC_ARENA_MAX`` is in the environment:
    glibc applied that one itself, and it is the operator's.
    """
    if _mallopt is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(_mallopt(_M_ARENA_MAX, arenas))
