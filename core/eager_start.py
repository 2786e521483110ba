"""Run a coroutine's first step at once; make a task only if it has to wait.

A reader process answers a by-name request without ever waiting (its store is read inline), yet
uvicorn makes an asyncio task for every request and runs it on the loop's next turn: a task object,
a scheduled callback and a turn of the loop per request, about a tenth of a reader's CPU per
by-name request on this 2-core machine. Python 3.12's ``eager_task_factory`` does what this
module does; on 3.11 (and uvloop, which ignores ``eager_start`` there) it is done here: the first
step runs in a copied context, and if the coroutine suspends, a task continues it in that same
context from where it stopped (cancellation included, thrown into it as a task would).
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Coroutine, Generator
from typing import Any


def start_eagerly(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
    """None if ``coro`` finished in its first step, else the task that goes on with it."""
    context = contextvars.copy_context()
    try:
        pending = context.run(coro.send, None)
    except StopIteration:
        return None
    return loop.create_task(_resume(coro, pending), context=context)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, None, Any]:
    """Hand the task what ``coro`` waits on, then drive ``coro`` as the task drives us."""
    while True:
        try:
            yield pending
        except BaseException as exc:  # the task was cancelled (or something was thrown in)
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coro.send(None)
            except StopIteration as stop:
                return stop.value
