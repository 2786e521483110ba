"""A small fake of Backstage's catalog API on 127.0.0.1, recording every call the sink makes.

Only the calls the ``backstage`` output uses: register a url location (201 once, then 409 like
Backstage), list locations, refresh an entity. Like a real catalog it reads a registered target
over HTTP *without* our server token, so a test sees whether the published YAML is public. The
module's own tests pin the fake's behaviour to what backstage.md measured.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FAKE_TOKEN = "fake-backstage-token-0123456789"


def generated_ref(target: str) -> str:
    return "location:default/generated-" + hashlib.sha1(f"url:{target}".encode()).hexdigest()


@dataclass
class Call:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class FakeBackstage:
    token: str = FAKE_TOKEN
    calls: list[Call] = field(default_factory=list)
    locations: dict[str, dict[str, str]] = field(default_factory=dict)
    reads: list[tuple[str, int, str]] = field(default_factory=list)
    """(target, status, body) of every read the fake made after a registration."""
    refresh_status: int = 200
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    url: str = ""

    # --- recorded views -------------------------------------------------------------------------

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    def refreshed(self) -> list[str]:
        return [c.body["entityRef"] for c in self.calls_to("POST", "/api/catalog/refresh")]

    def registrations(self) -> list[str]:
        return [c.body["target"] for c in self.calls_to("POST", "/api/catalog/locations")]

    def clear_calls(self) -> None:
        self.calls.clear()

    # --- the API --------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _record(self, request: Request) -> Response | None:
        body = await request.json() if request.method == "POST" else None
        self.calls.append(Call(request.method, request.url.path, body, request.headers.get("authorization")))
        if not self._authorized(request):
            error = {"name": "AuthenticationError", "message": "Missing credentials"}
            return JSONResponse({"error": error}, status_code=401)
        return None

    async def _locations(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        if request.method == "GET":
            return JSONResponse([{"data": loc} for loc in self.locations.values()])
        body = self.calls[-1].body
        target = body["target"]
        for loc in self.locations.values():
            if loc["target"] == target:
                error = {"name": "ConflictError", "message": f"Location url:{target} already exists"}
                return JSONResponse({"error": error}, status_code=409)
        loc = {"id": str(uuid.uuid4()), "type": body["type"], "target": target}
        self.locations[loc["id"]] = loc
        async with httpx.AsyncClient(timeout=5) as client:  # a UrlReader sends no token of ours
            resp = await client.get(target)
        self.reads.append((target, resp.status_code, resp.text))
        return JSONResponse({"location": loc, "entities": [], "entityRef": generated_ref(target)}, status_code=201)

    async def _refresh(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        if self.refresh_status != 200:
            error = {"name": "Error", "message": "injected failure"}
            return JSONResponse({"error": error}, status_code=self.refresh_status)
        return Response(status_code=200)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeBackstage:
        app = Starlette(
            routes=[
                Route("/api/catalog/locations", self._locations, methods=["GET", "POST"]),
                Route("/api/catalog/refresh", self._refresh, methods=["POST"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Backstage did not start")
            threading.Event().wait(0.01)  # bounded poll for the server thread
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeBackstage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the fake's own contract --------------------------------------------------------------------


def test_fake_answers_like_backstage() -> None:
    with FakeBackstage() as fake:
        assert httpx.get(f"{fake.url}/api/catalog/locations").status_code == 401
        headers = {"Authorization": f"Bearer {fake.token}"}
        target = f"{fake.url}/nothing-here.yaml"
        first = httpx.post(f"{fake.url}/api/catalog/locations", json={"type": "url", "target": target}, headers=headers)
        again = httpx.post(f"{fake.url}/api/catalog/locations", json={"type": "url", "target": target}, headers=headers)
        assert (first.status_code, again.status_code) == (201, 409)
        assert first.json()["entityRef"] == generated_ref(target)
        assert fake.reads == [(target, 404, "Not Found")]
