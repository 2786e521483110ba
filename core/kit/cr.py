"""Read fields of an OpenChoreo API object (a CR as the Platform API returns it) safely.

The one reader every family uses, so the rules are the same everywhere and match the official
module's TypeScript accessors:

- **Missing text** reads as ``""``: an absent key, ``null`` or a value of another type (the API is
  schema-typed, so a number where a string belongs is malformed input and counts as absent). An
  empty string is "absent" too, as in JavaScript, so ``cr.annotation(body, X) or fallback`` is the
  idiom for a fallback.
- **Missing blocks** (``metadata``, ``spec``, ``status``, annotations, labels) read as an empty
  mapping, so chains like ``cr.spec(body).get("x")`` never raise.
- **Names** are returned verbatim; whether Backstage accepts one is checked by
  :mod:`openchoreo_sync.kit.entities` (``checked_name``), which raises naming the resource.

Example::

    from openchoreo_sync.kit import cr

    title = cr.title_of(resource.body)                  # display-name annotation, else the name
    replicas = cr.spec(resource.body).get("replicas")   # {} when the object has no spec
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DISPLAY_NAME = "openchoreo.dev/display-name"
DESCRIPTION = "openchoreo.dev/description"
BACKSTAGE_OWNER = "backstage.io/owner"

READY = "Ready"
NOT_READY = "Not Ready"


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is an object, else an empty one: API objects may omit any block."""
    if type(value) is dict:  # decoded JSON: skips the ABC check, the costliest part of mapping
        return value
    return value if isinstance(value, Mapping) else {}


def metadata(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(body.get("metadata"))


def spec(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(body.get("spec"))


def status(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(body.get("status"))


def text(value: Any) -> str:
    """A string field as a string; absent or non-string values read as ``''`` (JS falsy)."""
    return value if isinstance(value, str) else ""


def name_of(body: Mapping[str, Any]) -> str:
    return text(metadata(body).get("name"))


def namespace_of(body: Mapping[str, Any]) -> str:
    return text(metadata(body).get("namespace"))


def annotation(body: Mapping[str, Any], key: str) -> str:
    return text(mapping(metadata(body).get("annotations")).get(key))


def label(body: Mapping[str, Any], key: str) -> str:
    return text(mapping(metadata(body).get("labels")).get(key))


def title_of(body: Mapping[str, Any]) -> str:
    """Display-name annotation when non-empty, else the name: what every translator shows."""
    return annotation(body, DISPLAY_NAME) or name_of(body)


def description_of(body: Mapping[str, Any]) -> str:
    """The description annotation, ``''`` when absent (callers pick their own fallback)."""
    return annotation(body, DESCRIPTION)


def uid_of(body: Mapping[str, Any]) -> str:
    return text(metadata(body).get("uid"))


def created_at(body: Mapping[str, Any]) -> str:
    return text(metadata(body).get("creationTimestamp"))


def deletion_timestamp(body: Mapping[str, Any]) -> str:
    return text(metadata(body).get("deletionTimestamp"))


def condition_status(body: Mapping[str, Any], condition_type: str) -> str | None:
    """The ``status`` of the first condition of ``condition_type`` (``"True"``, ``"False"`` ...), or
    None when the object reports no such condition."""
    conditions = status(body).get("conditions")
    for condition in conditions if isinstance(conditions, list) else ():
        if isinstance(condition, Mapping) and condition.get("type") == condition_type:
            return text(condition.get("status"))
    return None


def ready_status(body: Mapping[str, Any]) -> str:
    """``Ready`` when a ``Ready`` condition has status ``True``; every other state is ``Not Ready``."""
    conditions = status(body).get("conditions")
    if isinstance(conditions, list):
        for condition in conditions:
            if not isinstance(condition, Mapping):
                continue
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                return READY
    return NOT_READY


def owner_annotation(body: Mapping[str, Any] | None) -> str:
    """The CR's ``backstage.io/owner`` annotation trimmed; ``''`` when absent or blank."""
    return annotation(body, BACKSTAGE_OWNER).strip() if body else ""


def resolve_owner(*bodies: Mapping[str, Any] | None, default: str) -> str:
    """The first non-blank ``backstage.io/owner`` of ``bodies`` (most specific first), else ``default``.

    The value is used verbatim, like the official module: Backstage itself qualifies a bare
    ``team-a`` as ``group:<entity namespace>/team-a``.
    """
    for body in bodies:
        owner = owner_annotation(body)
        if owner:
            return owner
    return default
