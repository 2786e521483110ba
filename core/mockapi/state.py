"""The shared state of one mock server: world, faults, auth, stats and event delivery.

Kept apart from the ASGI code so the runner, the control endpoints and tests can hold one
object and change any part of it while the server thread reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import Auth
from .events import EventDispatcher
from .faults import Faults
from .scaffolder import TEMPLATES
from .stats import Stats
from .thunder import Directory, build_directory, owner_groups_of
from .world import World


@dataclass
class MockState:
    """Everything a running mock reads; mutate it freely from tests."""

    world: World
    faults: Faults = field(default_factory=Faults)
    auth: Auth = field(default_factory=Auth)
    stats: Stats = field(default_factory=Stats)
    events: EventDispatcher = field(default_factory=EventDispatcher)
    base_url: str = "http://127.0.0.1:8080"
    version: str = "v0.0.0-mock"
    templates: dict[str, str] = field(default_factory=lambda: dict(TEMPLATES))
    """file name -> YAML text served under ``/scaffolder-templates/`` (hand-written Templates)"""
    directory: Directory | None = None
    """The Thunder-like user directory under ``/thunder``; built from the world's owners if None."""

    def __post_init__(self) -> None:
        self.world.add_listener(self.events)
        if self.directory is None:
            items = [o for collection in ("projects", "components") for o in self._all(collection)]
            self.directory = build_directory(owner_groups_of(items))

    def _all(self, collection: str) -> list[dict[str, object]]:
        namespaces = list(self.world.snapshot("namespaces", "").items)
        return [obj for ns in namespaces for obj in self.world.snapshot(collection, ns).items.values()]

    def attach_world(self, world: World) -> None:
        """Swap in a different world (keeps webhook delivery wired)."""
        self.world.remove_listener(self.events)
        self.world = world
        world.add_listener(self.events)
