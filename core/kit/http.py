"""Helpers for plugins that serve HTTP on the daemon's server (the ``http_routes`` hook).

Routes are protected by ``openchoreo.server.token`` unless marked :func:`public`; errors should
have Backstage's shape (:func:`backstage_error`) so Backstage clients report them properly. A route
that only reads the committed catalog may be marked :func:`replica_safe`: the daemon's reader
processes (``openchoreo.server.readProcesses``) then answer it themselves, off the process that
runs the syncs; unmarked routes are always answered by the daemon's own process.

Import this module (and starlette) inside the hook: it brings the server stack, which a command
that serves nothing (``export``) should not load with the plugin. Example::

    from openchoreo_sync.kit import hookimpl

    @hookimpl
    def http_routes(ctx):
        from starlette.routing import Route
        from openchoreo_sync.kit.http import backstage_error

        async def hello(request):
            return backstage_error(404, "NotFoundError", "nothing here yet", request)
        return [Route("/api/hello", hello)]
"""

from __future__ import annotations

from ..server import SHUTTING_DOWN, backstage_error, public, replica_safe, token_matches

__all__ = ["SHUTTING_DOWN", "backstage_error", "public", "replica_safe", "token_matches"]
