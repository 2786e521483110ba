"""The route serving the published YAML files (imported by the ``http_routes`` hook only).

Kept apart from the plugin's hooks so that loading the plugin (every command, ``export`` too)
does not import the server stack (starlette); only a process that serves HTTP builds the route.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from openchoreo_sync.kit.http import public

from .sink import ROUTE_PREFIX, BackstageSink


def published_routes(sink: BackstageSink) -> list[BaseRoute]:
    """``GET {ROUTE_PREFIX}/{key}/{path}``: a file of the current publication, 404 for a wrong key."""

    async def published(request: Request) -> Response:
        key = str(request.path_params["key"])
        if not hmac.compare_digest(key.encode(), sink.key.encode()):
            return PlainTextResponse("not found", status_code=404)
        publication = await sink.current()
        body = publication.files.get(str(request.path_params["path"])) if publication else None
        if body is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(body, media_type="application/yaml", headers={"Cache-Control": "no-store"})

    return [public(Route(f"{ROUTE_PREFIX}/{{key}}/{{path:path}}", published, methods=["GET"]))]
