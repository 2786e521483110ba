"""Out-of-process control of a running mock, under ``/_mock/`` (not part of OpenChoreo).

Lets a test in another process (or a shell) set faults, change the world, read counters
and register webhooks. These routes skip auth, faults and request counting.

* ``GET /_mock/stats`` → ``{"total", "by_path", "auth_headers"}``
* ``PUT /_mock/faults`` (body: see :meth:`Faults.configure`) / ``GET`` / ``DELETE`` (clear)
* ``POST /_mock/revoke-tokens`` → every issued token becomes INVALID_TOKEN
* ``PUT /_mock/resources/{collection}/{namespace}`` (body: the object) → the stored object;
  use ``-`` as namespace for cluster kinds and namespaces
* ``DELETE /_mock/resources/{collection}/{namespace}/{name}`` → 204, or 404
* ``POST /_mock/compact`` → expire every outstanding cursor (like etcd compaction)
* ``POST /_mock/webhooks`` (body ``{"url", "token"?}``) / ``DELETE`` (remove all)
* ``POST /_mock/reset`` → clear faults and counters
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .kinds import KINDS
from .responses import json_response

if TYPE_CHECKING:
    from .state import MockState


def control_routes(state: MockState) -> list[Route]:
    """The ``/_mock/`` routes bound to ``state``."""

    def _ns(raw: str) -> str:
        return "" if raw == "-" else raw

    async def stats(request: Request) -> Response:
        return json_response(state.stats.snapshot())

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                state.faults.configure(await request.json())
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
        elif request.method == "DELETE":
            state.faults.reset()
        return json_response(state.faults.describe())

    async def revoke(request: Request) -> Response:
        state.auth.revoke_all()
        return Response(status_code=204)

    async def put_resource(request: Request) -> Response:
        coll = request.path_params["collection"]
        if coll not in KINDS:
            return json_response({"error": f"unknown collection {coll}"}, 404)
        try:
            obj = state.world.put(coll, _ns(request.path_params["ns"]), await request.json())
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(obj)

    async def delete_resource(request: Request) -> Response:
        p = request.path_params
        if p["collection"] not in KINDS:
            return json_response({"error": f"unknown collection {p['collection']}"}, 404)
        found = state.world.delete(p["collection"], _ns(p["ns"]), p["name"])
        return Response(status_code=204 if found else 404)

    async def compact(request: Request) -> Response:
        state.world.compact()
        return Response(status_code=204)

    async def webhooks(request: Request) -> Response:
        if request.method == "DELETE":
            state.events.clear()
        else:
            body = await request.json()
            state.events.add_webhook(str(body["url"]), body.get("token"))
        return json_response([{"url": w.url} for w in state.events.webhooks])

    async def reset(request: Request) -> Response:
        state.faults.reset()
        state.stats.reset()
        return Response(status_code=204)

    return [
        Route("/_mock/stats", stats, methods=["GET"]),
        Route("/_mock/faults", faults, methods=["GET", "PUT", "DELETE"]),
        Route("/_mock/revoke-tokens", revoke, methods=["POST"]),
        Route("/_mock/resources/{collection}/{ns}", put_resource, methods=["PUT"]),
        Route("/_mock/resources/{collection}/{ns}/{name}", delete_resource, methods=["DELETE"]),
        Route("/_mock/compact", compact, methods=["POST"]),
        Route("/_mock/webhooks", webhooks, methods=["POST", "DELETE"]),
        Route("/_mock/reset", reset, methods=["POST"]),
    ]
