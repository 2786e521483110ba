"""glibc's heaps: capped at the process's start, and freed heap handed back as a run goes.

The run's memory peak at 50k components is bounded by what the allocator keeps besides what is
alive (docs/performance.md, "Memory at 50k components"); these check the two levers are pulled.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import weakref

import pytest

from openchoreo_sync import engine as engine_module
from openchoreo_sync import memory

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Eight threads allocate C-heap blocks (bytes over 512 are glibc's) and stay alive while the
# process counts glibc's heaps in malloc_info's report (one <heap nr=...> per arena).
COUNT_ARENAS = textwrap.dedent(
    """
    import ctypes, os, re, sys, tempfile, threading
    from openchoreo_sync.memory import limit_malloc_arenas

    capped = limit_malloc_arenas() if sys.argv[1] == "cap" else None
    kept = []
    allocated, counted = threading.Barrier(9), threading.Event()
    def allocate():
        kept.extend(bytes(4096) for _ in range(64))
        allocated.wait(30)
        counted.wait(30)
    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    allocated.wait(30)  # all eight alive at once: no thread's heap is free for another to take
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    path = os.path.join(tempfile.mkdtemp(), "info.xml")
    stream = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    counted.set()
    for thread in threads:
        thread.join(30)
    with open(path) as report:
        print(capped, len(re.findall(r"<heap nr=", report.read())))
    """
)


def arenas(mode: str, **env: str) -> tuple[str, int]:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    out = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, mode], capture_output=True, text=True, env=environment, timeout=60
    )
    assert out.returncode == 0, out.stderr
    capped, count = out.stdout.split()
    return capped, int(count)


@pytest.mark.skipif(not glibc, reason="glibc's heaps and malloc_info")
def test_the_cap_keeps_threads_to_two_heaps() -> None:
    assert arenas("cap") == ("True", memory.MALLOC_ARENAS)
    _, uncapped = arenas("none")
    assert uncapped > memory.MALLOC_ARENAS, "without the cap every thread has a heap of its own"


@pytest.mark.skipif(not glibc, reason="glibc's heaps and malloc_info")
def test_an_operator_s_malloc_arena_max_wins() -> None:
    assert arenas("cap", MALLOC_ARENA_MAX="3") == ("False", 3)


def test_the_cli_caps_the_heaps_before_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    from openchoreo_sync import cli

    calls: list[str] = []
    monkeypatch.setattr(cli, "limit_malloc_arenas", lambda: calls.append("capped") or True)
    monkeypatch.setattr(cli, "build_parser", lambda: calls.append("parsed") or pytest.fail("stop here"))
    with pytest.raises(pytest.fail.Exception):
        cli.main(["once"])
    assert calls == ["capped", "parsed"]


async def test_a_run_hands_back_its_fetch_and_its_commit(
    mock_openchoreo, sync_harness_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = sync_harness_factory(mock_openchoreo.url)
    stored_at_each: list[int] = []
    monkeypatch.setattr(
        engine_module, "release_free_memory", lambda: stored_at_each.append(harness.engine.store.count()) or True
    )
    result = await harness.run()
    assert result.status == "ok"
    stored = harness.engine.store.count()
    assert stored > 0
    assert stored_at_each == [0, stored], "once after the fetch (nothing stored yet), once after the commit"


class Marker:
    """Weakly referenced: alive while the run's ``Build`` (and with it the mapped catalog) is."""


async def test_a_run_ends_collecting_what_outlives_it_not_the_mapped_catalog(
    mock_openchoreo, sync_harness_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cyclic collection that ends a run walks every live object; with the run's frame gone
    and the daemon's result holding no entities, that is what the daemon keeps (0.02 s at 10k
    components, against 0.1-0.16 s with the catalog alive)."""
    harness = sync_harness_factory(mock_openchoreo.url)
    builds: list[weakref.ref[Marker]] = []
    real_fetch_and_map = engine_module.fetch_and_map

    async def marked(*args: object, **kwargs: object) -> object:
        build = await real_fetch_and_map(*args, **kwargs)  # type: ignore[arg-type]
        build.marker = marker = Marker()  # type: ignore[attr-defined]
        builds.append(weakref.ref(marker))
        return build

    build_alive_at_collection: list[bool] = []

    class Collector:
        def collect(self, generation: int = 2) -> int:
            build_alive_at_collection.append(builds[-1]() is not None)
            return 0

    monkeypatch.setattr(engine_module, "fetch_and_map", marked)
    monkeypatch.setattr(engine_module, "gc", Collector())
    result = await harness.daemon.run_once(trigger="test")
    assert result.status == "ok" and result.entities == {} and result.relations is None
    assert build_alive_at_collection == [False]
