"""Mock OpenChoreo Platform API: an in-process stand-in for ``openchoreo-api``.

It answers exactly like the real server (paths, pagination cursors, error bodies, auth
failures) over real HTTP on 127.0.0.1, so the daemon, its tests and third-party plugin
tests run against it unchanged.

Public API:

* :class:`MockOpenChoreo` (``runner``): ``with MockOpenChoreo(WorldSpec(...), auth=True) as m:``
  gives ``m.url``, ``m.world``, ``m.faults``, ``m.stats``, ``m.auth``, ``m.client_id``,
  ``m.client_secret``, ``m.token_url``, ``m.token()`` and ``m.add_webhook(url, token)``.
* :class:`World` (``world``): ``put(collection, namespace, body)``, ``delete(collection,
  namespace, name)``, ``get(collection, namespace, name)``, ``items(collection, namespace)``,
  ``compact()`` and ``add_listener(fn)``. Collections are the URL segments of the API
  (``components``, ``clusterdataplanes``, ``namespaces``...); cluster kinds and namespaces
  use the namespace ``""``. See ``kinds.KINDS``.
* :class:`WorldSpec` / :func:`build_world` (``generate``): deterministic worlds from
  (seed, namespaces, projects, components); namespace ``default`` holds the worked example.
* :class:`Faults` / :class:`FaultRule` (``faults``): latency, random failures, per-path
  status / reset / timeout / malformed / wrong_types / cursor_loop, Nth-page faults,
  cursor expiry; ``m.auth.revoke_all()`` invalidates every token.
* ``configure_parser`` (``openchoreo_sync.mock_options``) / ``run_from_args`` (``runner``): the
  ``mock-api`` CLI subcommand.
* ``/_mock/...`` HTTP routes (``control``) for out-of-process control.
"""

from ..mock_options import configure_parser
from .faults import FaultRule, Faults
from .generate import WorldSpec, build_world
from .kinds import KINDS, KindInfo
from .runner import MockOpenChoreo, run_from_args
from .world import ChangeEvent, World

__all__ = [
    "KINDS",
    "ChangeEvent",
    "FaultRule",
    "Faults",
    "KindInfo",
    "MockOpenChoreo",
    "World",
    "WorldSpec",
    "build_world",
    "configure_parser",
    "run_from_args",
]
