"""``paused_gc``: nested pauses (from any thread) leave the collector as the outermost found it."""

from __future__ import annotations

import gc
import threading

from openchoreo_sync.kit import paused_gc


def test_pauses_nest_across_threads_and_restore_the_collector() -> None:
    assert gc.isenabled()
    inner_started, outer_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with paused_gc():
            inner_started.set()
            assert outer_done.wait(10)
            seen.append(gc.isenabled())  # the first pause ended; this one still holds
        seen.append(gc.isenabled())

    with paused_gc():
        thread = threading.Thread(target=other)
        thread.start()
        assert inner_started.wait(10)
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    outer_done.set()
    thread.join(10)
    assert seen == [False, True]
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_an_exception_inside_ends_the_pause_and_a_resume_without_a_pause_is_refused() -> None:
    from openchoreo_sync import gcpause

    assert gc.isenabled()
    try:
        with paused_gc():
            raise KeyError("inside")
    except KeyError:
        pass
    assert gc.isenabled()
    try:
        gcpause.resume()
    except RuntimeError as exc:
        assert "without a pause" in str(exc)
    else:
        raise AssertionError("an unbalanced resume() was accepted")
    with paused_gc():  # and the count did not go below zero: a pause still pauses
        assert not gc.isenabled()
    assert gc.isenabled()
