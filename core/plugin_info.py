"""The typed record a plugin returns from ``plugin_info``."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True)
class PluginInfo:
    """What the plugin manager and ``openchoreo-sync plugins`` need to know about a plugin.

    ``kinds`` are the Backstage kinds the plugin produces (its entities are removed when it is
    disabled); ``mapping`` lists (OpenChoreo kind, Backstage kind) pairs for the README table and
    ``openchoreo-sync plugins``; ``settings`` is a pydantic model for ``openchoreo.plugins.<name>`` (minus
    ``enabled``), validated at start-up; ``relation_pairs`` adds (forward, inverse) relation types
    beyond ``openchoreo_sync.relations``; ``event_kinds`` are the lower-case OpenChoreo kinds
    whose events the plugin can refetch; ``default_enabled`` False makes a plugin opt-in;
    ``emit_every_run`` makes the engine call an output's ``emit`` after every committed run, even
    one that changed nothing (an output that converges on what a remote system holds).

    ``inputs_only`` promises that the plugin's ``map_resource``, ``decorate_entity`` and
    ``relate`` hooks produce the same entities and relations from the same resources and
    configuration: they read nothing else (no file, clock, service or state of their own). A run
    whose fetched collections are byte-for-byte those of the last clean run then skips mapping
    and relating (``core/run_inputs.py``) -- but only when every enabled plugin with one of those
    hooks makes the promise; one that does not (the default) gets a full run every time.
    """

    description: str
    kinds: tuple[str, ...] = ()
    mapping: tuple[tuple[str, str], ...] = ()
    settings: type[BaseModel] | None = None
    relation_pairs: tuple[tuple[str, str], ...] = ()
    event_kinds: tuple[str, ...] = ()
    default_enabled: bool = True
    role: str = "family"
    emit_every_run: bool = False
    inputs_only: bool = False
    extra: dict[str, str] = field(default_factory=dict)
