"""A small fake of Backstage's catalog API on 127.0.0.1, recording every call the sink makes.

Only the calls the ``backstage`` output uses: register a url location (201 once, then 409 like
Backstage), list locations, refresh an entity, read entities back by ref, count a location's
entities, validate an entity, dry-run a location. Like a real catalog it reads a registered
target over HTTP *without* our server token, so a test sees whether the published YAML is public;
it "ingests" what it read at registration and at every refresh (at once, where Backstage takes a
second or two): a file holding a kind ``allow_kinds`` does not allow is refused whole, an entity
of a kind no processor knows (not built in, not in ``processor_kinds``) alone. The module's own
tests pin the fake's behaviour to what backstage.md measured.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FAKE_TOKEN = "fake-backstage-token-0123456789"
BUILTIN = {"component", "api", "resource", "system", "domain", "group", "user", "location", "template"}
ORIGIN = "backstage.io/managed-by-origin-location"


def ref_of(entity: dict[str, Any]) -> str:
    meta = entity.get("metadata") or {}
    return f"{str(entity['kind']).lower()}:{str(meta.get('namespace') or 'default').lower()}/{meta['name']}"


def not_allowed(kind: str, ref: str, target: str) -> str:
    return (
        f"NotAllowedError: Entity {ref} at url:{target}, originated at url:{target}, "
        "is not of an allowed kind for that location"
    )


def no_processor(ref: str) -> str:
    return f"No processor recognized the entity {ref} as valid, possibly caused by a foreign kind or apiVersion"


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
    allow_kinds: set[str] | None = None
    """lower-case kinds catalog.rules allows (None: all)"""
    processor_kinds: set[str] = field(default_factory=set)
    """lower-case custom kinds a processor recognizes; ``{"*"}``: all (OpenChoreo's processors installed)"""
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    from_file: dict[str, list[str]] = field(default_factory=dict)
    """file URL -> the refs ingested from it (its Location entity first)"""
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

    def restart_empty(self) -> None:
        """Like a Backstage restarted on an in-memory database: no locations, no entities."""
        self.locations.clear()
        self.entities.clear()
        self.from_file.clear()

    # --- ingestion ------------------------------------------------------------------------------

    def recognizes(self, kind: str) -> bool:
        return kind in BUILTIN or kind in self.processor_kinds or "*" in self.processor_kinds

    def _rejection(self, entity: dict[str, Any], target: str) -> tuple[str, str] | None:
        """('file', reason) when the whole file is refused, ('entity', reason) for this one alone."""
        kind, ref = str(entity["kind"]).lower(), ref_of(entity)
        if self.allow_kinds is not None and kind not in self.allow_kinds:
            return "file", not_allowed(kind, ref, target)
        if not self.recognizes(kind):
            return "entity", no_processor(ref)
        return None

    async def _read(self, client: httpx.AsyncClient, target: str) -> list[dict[str, Any]] | None:
        resp = await client.get(target)
        self.reads.append((target, resp.status_code, resp.text))
        if resp.status_code != 200:
            return None
        return [d for d in yaml.safe_load_all(resp.text) if isinstance(d, dict)]

    def _accept(self, target: str, doc: dict[str, Any], children: list[dict[str, Any]] | None, origin: str) -> None:
        """Take in one file read through its Location entity ``doc`` (refused whole, or entity by entity)."""
        for ref in self.from_file.pop(target, []):
            self.entities.pop(ref, None)
        if children is None:
            return
        verdicts = [self._rejection(child, target) for child in children]
        if any(v and v[0] == "file" for v in verdicts):
            return  # the whole file is refused, its Location entity included
        refs = []
        for entity in [doc, *(c for c, v in zip(children, verdicts, strict=True) if v is None)]:
            entity.setdefault("metadata", {}).setdefault("annotations", {})[ORIGIN] = origin
            refs.append(ref_of(entity).lower())
            self.entities[refs[-1]] = entity
        self.from_file[target] = refs

    async def _ingest(self, only: str | None = None) -> None:
        """Re-read the registered locations now (a real Backstage does it in its processing loop).

        ``only``: the ref of one file's Location entity; then just that file is read again.
        """
        async with httpx.AsyncClient(timeout=5) as client:  # a UrlReader sends no token of ours
            if only is not None and only in self.entities and "spec" in self.entities[only]:
                doc = self.entities[only]
                target = doc["spec"]["target"]
                self._accept(target, doc, await self._read(client, target), doc["metadata"]["annotations"][ORIGIN])
                return
            self.entities, self.from_file = {}, {}
            for loc in list(self.locations.values()):
                index = loc["target"]
                docs = await self._read(client, index)
                if docs is None:
                    continue
                origin = f"url:{index}"
                name = generated_ref(index).split("/", 1)[1]
                generated = {"kind": "Location", "metadata": {"name": name, "annotations": {ORIGIN: origin}}}
                self.entities[generated_ref(index)] = generated
                files = [d for d in docs if str(d.get("kind", "")).lower() == "location"]
                reads = await asyncio.gather(*(self._read(client, d["spec"]["target"]) for d in files))
                for doc, children in zip(files, reads, strict=True):
                    self._accept(doc["spec"]["target"], doc, children, origin)

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
        if request.query_params.get("dryRun") == "true":
            async with httpx.AsyncClient(timeout=5) as client:
                docs = await self._read(client, target)
            if docs is None:
                return JSONResponse({"error": {"name": "NotFoundError", "message": f"{target} unreadable"}}, 400)
            for doc in docs:
                verdict = self._rejection(doc, target)
                if verdict is not None and verdict[0] == "file":
                    return JSONResponse({"error": {"name": "InputError", "message": verdict[1]}}, status_code=400)
            return JSONResponse({"location": {"target": target}, "entities": docs}, status_code=201)
        loc = {"id": str(uuid.uuid4()), "type": body["type"], "target": target}
        self.locations[loc["id"]] = loc
        await self._ingest()
        return JSONResponse({"location": loc, "entities": [], "entityRef": generated_ref(target)}, status_code=201)

    async def _delete_location(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        if self.locations.pop(str(request.path_params["id"]), None) is None:
            return JSONResponse({"error": {"name": "NotFoundError", "message": "no such location"}}, 404)
        await self._ingest()
        return Response(status_code=204)

    async def _by_refs(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        refs = self.calls[-1].body["entityRefs"]
        return JSONResponse({"items": [self.entities.get(str(r).lower()) for r in refs]})

    async def _by_query(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        key, _, value = str(request.query_params.get("filter", "")).partition("=")
        wanted = key.removeprefix("metadata.annotations.")
        count = sum(1 for e in self.entities.values() if e["metadata"].get("annotations", {}).get(wanted) == value)
        return JSONResponse({"items": [], "totalItems": count, "pageInfo": {}})

    async def _validate(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        entity = self.calls[-1].body["entity"]
        kind = str(entity.get("kind", "")).lower()
        if not self.recognizes(kind):
            return JSONResponse({"errors": [{"name": "InputError", "message": no_processor(ref_of(entity))}]}, 400)
        return Response(status_code=200)

    async def _refresh(self, request: Request) -> Response:
        denied = await self._record(request)
        if denied:
            return denied
        if self.refresh_status != 200:
            error = {"name": "Error", "message": "injected failure"}
            return JSONResponse({"error": error}, status_code=self.refresh_status)
        ref = str(self.calls[-1].body["entityRef"]).lower()
        if ref not in self.entities:
            error = {"name": "NotFoundError", "message": f"Entity {ref} not found"}
            return JSONResponse({"error": error}, status_code=404)
        await self._ingest(only=ref)
        return Response(status_code=200)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeBackstage:
        app = Starlette(
            routes=[
                Route("/api/catalog/locations", self._locations, methods=["GET", "POST"]),
                Route("/api/catalog/refresh", self._refresh, methods=["POST"]),
                Route("/api/catalog/locations/{id}", self._delete_location, methods=["DELETE"]),
                Route("/api/catalog/entities/by-refs", self._by_refs, methods=["POST"]),
                Route("/api/catalog/entities/by-query", self._by_query, methods=["GET"]),
                Route("/api/catalog/validate-entity", self._validate, methods=["POST"]),
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
