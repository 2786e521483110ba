"""Users and Groups as the official module builds them, with membership that resolves.

Field by field as ``thunder-identities.md`` describes upstream, except the two bugs: a Group's
``members`` name the User entities (upstream: sanitised user ids, matching nothing), and nested
groups carry ``parent``/``children`` and users ``memberOf`` (upstream: always empty). The
resolved names come from :mod:`.directory` in the resource's context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit import Entity, Resource, SyncContext
from openchoreo_sync.kit.entities import API_VERSION, put

from .directory import group_name, text, user_name

MANAGED_LABEL = "thunder.io/managed"
USER_ID = "thunder.io/user-id"
ORGANIZATION_UNIT = "thunder.io/organization-unit"
USER_TYPE = "thunder.io/user-type"
GROUP_ID = "thunder.io/group-id"
ORGANIZATION_UNIT_ID = "thunder.io/organization-unit-id"


def _attributes(body: Mapping[str, Any]) -> Mapping[str, Any]:
    attributes = body.get("attributes")
    return attributes if isinstance(attributes, Mapping) else {}


def _checked(name: str, resource: Resource, what: str) -> str:
    if not name:
        raise ValueError(f"{what} has neither a usable name nor an id; Backstage needs a name")
    return name


def map_user(resource: Resource, namespace: str) -> Entity:
    body = resource.body
    attributes = _attributes(body)
    name = _checked(user_name(body), resource, "Thunder user")
    first, last, username = (
        text(attributes.get("firstname")),
        text(attributes.get("lastname")),
        text(attributes.get("username")),
    )
    display = f"{first} {last}" if first and last else first or username or name
    annotations = {USER_ID: text(body.get("id"))}
    put(annotations, ORGANIZATION_UNIT, text(body.get("organizationUnit")))
    put(annotations, USER_TYPE, text(body.get("type")))
    profile: dict[str, Any] = {"displayName": display}
    put(profile, "email", text(attributes.get("email")))
    return {
        "apiVersion": API_VERSION,
        "kind": "User",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "title": display,
            "description": f"User from Thunder IdP ({text(body.get('type')) or 'unknown'})",
            "annotations": annotations,
            "labels": {MANAGED_LABEL: "true"},
        },
        "spec": {"profile": profile, "memberOf": list(resource.context.get("memberOf", []))},
    }


def map_group(resource: Resource, namespace: str) -> Entity:
    body = resource.body
    name = _checked(group_name(body), resource, "Thunder group")
    title = text(body.get("name")) or name
    description = text(body.get("description"))
    profile: dict[str, Any] = {"displayName": title}
    put(profile, "description", description)
    spec: dict[str, Any] = {"type": "team", "profile": profile}
    parent = resource.context.get("parent")
    if parent:
        spec["parent"] = parent
    spec["children"] = list(resource.context.get("children", []))
    spec["members"] = list(resource.context.get("members", []))
    annotations = {GROUP_ID: text(body.get("id"))}
    put(annotations, ORGANIZATION_UNIT_ID, text(body.get("organizationUnitId")))
    return {
        "apiVersion": API_VERSION,
        "kind": "Group",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "title": title,
            "description": description or "Group from Thunder IdP",
            "annotations": annotations,
            "labels": {MANAGED_LABEL: "true"},
        },
        "spec": spec,
    }


def map_directory(resource: Resource, ctx: SyncContext, namespace: str) -> list[Entity] | None:
    if resource.kind == "ThunderUser":
        return [map_user(resource, namespace)]
    if resource.kind == "ThunderGroup":
        return [map_group(resource, namespace)]
    return None
