"""Ask Linux for a shorter CPU time slice for the calling thread: a latency hint, not a priority.

Linux's fair scheduler (EEVDF, 6.6 and later) runs a task for its *slice* before it considers
another, and a task that wakes with a shorter slice than the one running gets an earlier deadline,
so it preempts it sooner (custom slices: 6.12 and later, ``sched_setattr`` with
``sched_runtime``). A reader process asks for a short one: when a sync's map, relate and commit
keep both cores busy, a request arriving at the reader waits for the end of a short slice rather
than a default one (~1.4 ms here). Its CPU *share* stays what its nice value gives it, so the
sync loses no throughput to it; needs no privileges (the kernel clamps it to 0.1-100 ms).

Python's ``os`` module has no ``sched_setattr``, hence the raw system call. Anything that refuses
it (another OS, an older kernel, an unknown architecture, a seccomp filter) leaves the thread as it
was: the hint is best effort.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}
"""Architecture -> (sched_setattr, sched_getattr) system call numbers."""

_ATTR = struct.Struct("IIQiIQQQII")
"""``struct sched_attr`` (SCHED_ATTR_SIZE_VER1, 56 bytes): size, policy, flags, nice, priority,
runtime, deadline, period, util_min, util_max."""

FAIR_POLICIES = (0, 3)  # SCHED_OTHER, SCHED_BATCH; real-time or deadline threads are left alone


def request_slice(milliseconds: float) -> str | None:
    """Ask for a ``milliseconds`` slice on the calling thread; None when set, else why not."""
    numbers = SYSCALLS.get(platform.machine())
    if not sys.platform.startswith("linux") or numbers is None:
        return f"not supported on {sys.platform}/{platform.machine()}"
    set_nr, get_nr = numbers
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(_ATTR.size)
    if libc.syscall(get_nr, 0, buf, _ATTR.size, 0) != 0:
        return f"sched_getattr failed: {os.strerror(ctypes.get_errno())}"
    _size, policy, _flags, nice, priority, _runtime, _dl, _period, util_min, util_max = _ATTR.unpack(buf.raw)
    if policy not in FAIR_POLICIES:
        return f"the thread's scheduling policy ({policy}) is not a fair one"
    runtime = int(milliseconds * 1_000_000)
    attr = _ATTR.pack(_ATTR.size, policy, 0, nice, priority, runtime, 0, 0, util_min, util_max)
    if libc.syscall(set_nr, 0, ctypes.c_char_p(attr), 0) != 0:
        return f"sched_setattr failed: {os.strerror(ctypes.get_errno())}"
    return None
