"""GETs through an ``httpx.AsyncClient``: for a second API (``kit.httpapi``), whose tests pass httpx transports.

The OpenChoreo API's requests go through :class:`~.pool.ConnectionPool` instead (hundreds per run,
where httpx's per-request work counted); a second API is read a few times per run, and keeping
httpx there keeps its transports available to the families' tests.
"""

from __future__ import annotations

import httpx

from .http11 import BodyTooLarge, HttpResponse


class HttpxSender:
    """The requester's :class:`~.requester.Sender` over httpx, with the same size bound."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url

    async def get(
        self, path: str, params: dict[str, str] | None, headers: list[tuple[str, str]], *, max_bytes: int
    ) -> HttpResponse:
        async with self._http.stream("GET", self._base_url + path, params=params or {}, headers=headers) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise BodyTooLarge(f"it declares {int(declared)} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise BodyTooLarge(f"reading stopped after {size} bytes", size)
                chunks.append(chunk)
            return HttpResponse(response.status_code, dict(response.headers), b"".join(chunks))
