"""Requests' first steps run at once; a task continues only those that wait (``eager_start``)."""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from openchoreo_sync.eager_start import start_eagerly
from openchoreo_sync.server import HttpServer, build_app, replica_safe

seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


async def test_a_coroutine_that_never_waits_finishes_without_a_task() -> None:
    steps: list[str] = []

    async def answer() -> None:
        steps.append("ran")

    assert start_eagerly(asyncio.get_running_loop(), answer()) is None
    assert steps == ["ran"]


async def test_one_that_waits_is_continued_by_a_task_in_its_own_context() -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def answer() -> str:
        seen.set("inside")
        steps.append("first step")
        value = await gate
        steps.append(f"resumed with {value}, seen={seen.get()}")
        return "done"

    task = start_eagerly(asyncio.get_running_loop(), answer())
    assert task is not None and steps == ["first step"]
    assert seen.get() == "unset"  # the first step's context is its own, not the caller's
    gate.set_result("go")
    assert await asyncio.wait_for(task, 5) == "done"
    assert steps[-1] == "resumed with go, seen=inside"


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    cleaned: list[str] = []

    async def answer() -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            cleaned.append("finally ran")

    task = start_eagerly(asyncio.get_running_loop(), answer())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert cleaned == ["finally ran"]


async def test_an_error_after_waiting_is_the_tasks() -> None:
    async def answer() -> None:
        await asyncio.sleep(0)
        raise LookupError("after the wait")

    task = start_eagerly(asyncio.get_running_loop(), answer())
    assert task is not None
    with pytest.raises(LookupError, match="after the wait"):
        await asyncio.wait_for(task, 5)


async def _slow(_: Request) -> Response:
    await asyncio.sleep(0.05)  # suspends: its task's response releases the queued pipeline
    return PlainTextResponse("slow")


async def _fast(request: Request) -> Response:
    return PlainTextResponse(request.path_params["n"])


async def _where(_: Request) -> Response:
    return PlainTextResponse("in a task" if asyncio.current_task() is not None else "eagerly, in no task")


@pytest.mark.parametrize(("fast", "expected"), [(True, b"eagerly, in no task"), (False, b"in a task")])
async def test_the_fast_protocol_answers_without_a_task(fast: bool, expected: bytes) -> None:
    routes = [replica_safe(Route("/where", _where))]
    server = HttpServer(build_app([("t", routes)], token=lambda: None, ready=lambda: True), "127.0.0.1", 0, fast=fast)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /where HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        await server.stop()
    assert raw.endswith(b"\r\n\r\n" + expected)


async def test_a_long_pipeline_behind_a_waiting_request_is_answered_in_order() -> None:
    """The queued requests are released one by one from each response; an eager start inside
    another's would recurse once per request (thousands deep) without the guard."""
    routes = [replica_safe(Route("/slow", _slow)), replica_safe(Route("/fast/{n}", _fast))]
    server = HttpServer(build_app([("t", routes)], token=lambda: None, ready=lambda: True), "127.0.0.1", 0, fast=True)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        count = 3000
        requests = [b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n"]
        requests += [f"GET /fast/{n} HTTP/1.1\r\nhost: t\r\n\r\n".encode() for n in range(count)]
        requests.append(b"GET /fast/last HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        writer.write(b"".join(requests))
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 60)
        writer.close()
    finally:
        await server.stop()
    bodies = [part.rsplit(b"\r\n\r\n", 1)[-1] for part in raw.split(b"HTTP/1.1 ")[1:]]
    assert raw.count(b"HTTP/1.1 200 OK") == count + 2
    assert bodies == [b"slow", *(str(n).encode() for n in range(count)), b"last"]
