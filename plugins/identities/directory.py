"""Read the whole directory (users, then groups) and resolve membership before anything is mapped.

Membership crosses the two lists (a group names users and groups by id; a user's ``memberOf``
comes from the groups), so both lists are one unit: if either fails, both collections fail and
the core carries the whole directory forward, stale, deleting nobody (upstream stops paging and
applies what it has, deleting everyone after the failed page). Ids are resolved to the names of
the entities this family produces, so every ``members``, ``memberOf``, ``parent`` and
``children`` reference points at an entity in the same set; a member id the directory does not
list is left out (and counted in the log) rather than left dangling.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from openchoreo_sync.kit import Collection, Resource, SyncContext
from openchoreo_sync.kit.httpapi import ExternalApi

from .names import sanitise
from .settings import ThunderSettings

USERS = "thunder-users"
GROUPS = "thunder-groups"
COLLECTIONS = (USERS, GROUPS)
USER_KIND = "ThunderUser"
GROUP_KIND = "ThunderGroup"
MEMBER_LOOKUPS = 8
"""``/groups/{id}/members`` walks at once, for a server whose group list leaves members out."""

_HINTS = {
    401: "set thunder.token (or thunder.auth client credentials) to a credential Thunder accepts",
    403: "the credential lacks permission to list users and groups in Thunder",
    404: "no such route; check that thunder.baseUrl is Thunder's API root, such as https://thunder:8090",
}


def text(value: Any) -> str:
    """Missing text reads as ``""`` (absent, null, or not a string), as in ``kit.cr``."""
    return value if isinstance(value, str) else ""


def user_name(user: Mapping[str, Any]) -> str:
    """The User entity's name: sanitised username, else sanitised id (upstream's rule)."""
    attributes = user.get("attributes")
    username = text(attributes.get("username")) if isinstance(attributes, Mapping) else ""
    return sanitise(username) or sanitise(text(user.get("id")))


def group_name(group: Mapping[str, Any]) -> str:
    return sanitise(text(group.get("name"))) or sanitise(text(group.get("id")))


@dataclass
class Membership:
    """Who is in what, by entity name."""

    members: dict[str, list[str]] = field(default_factory=dict)
    """group id -> names of its user members"""
    children: dict[str, list[str]] = field(default_factory=dict)
    """group id -> names of its group members"""
    parent: dict[str, str] = field(default_factory=dict)
    """group id -> name of its parent (the first by name when several groups contain it)"""
    member_of: dict[str, list[str]] = field(default_factory=dict)
    """user id -> names of the groups it is a direct member of"""
    unknown_members: int = 0


def resolve(users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> Membership:
    users_by_id = {text(u.get("id")): user_name(u) for u in users if text(u.get("id"))}
    groups_by_id = {text(g.get("id")): group_name(g) for g in groups if text(g.get("id"))}
    result = Membership()
    member_of: dict[str, set[str]] = defaultdict(set)
    parents: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        gid = text(group.get("id"))
        if not gid:
            continue
        own_name = groups_by_id[gid]
        user_members: set[str] = set()
        child_groups: set[str] = set()
        raw = group.get("members")
        for member in raw if isinstance(raw, list) else []:
            if not isinstance(member, Mapping):
                continue
            mid, kind = text(member.get("id")), text(member.get("type")) or "user"
            if kind == "group" and mid in groups_by_id and mid != gid:
                child_groups.add(groups_by_id[mid])
                parents[mid].add(own_name)
            elif kind == "user" and mid in users_by_id:
                user_members.add(users_by_id[mid])
                member_of[mid].add(own_name)
            else:
                result.unknown_members += 1
        result.members[gid] = sorted(user_members)
        result.children[gid] = sorted(child_groups)
    result.parent = {gid: min(names) for gid, names in parents.items()}
    result.member_of = {uid: sorted(names) for uid, names in member_of.items()}
    return result


def directory_client(settings: ThunderSettings, ctx: SyncContext) -> ExternalApi:
    return ExternalApi(
        settings.base_url,
        name="thunder",
        client=ctx.config.openchoreo.client,
        log=ctx.log.bind(plugin="identities"),
        token=settings.token,
        auth=settings.auth,
        hints=_HINTS,
    )


async def read_directory(settings: ThunderSettings, ctx: SyncContext) -> list[Collection]:
    """Both collections, complete with membership, or both failed with the same error."""
    try:
        async with asyncio.timeout(settings.schedule.timeout):
            async with directory_client(settings, ctx) as api:
                users = await api.walk_offset(
                    "/users", items_key="users", what="Thunder users", page_size=settings.page_size
                )
                groups = await api.walk_offset(
                    "/groups", items_key="groups", what="Thunder groups", page_size=settings.page_size
                )
                await _fill_members(api, groups, settings.page_size)
    except TimeoutError:
        error = TimeoutError(
            f"reading the Thunder directory took longer than thunder.schedule.timeout ({settings.schedule.timeout} s)"
        )
        return [Collection(USERS, error=error), Collection(GROUPS, error=error)]
    except Exception as exc:  # any failure fails the whole directory: nobody is deleted for it
        return [Collection(USERS, error=exc), Collection(GROUPS, error=exc)]
    return directory_collections(users, groups, ctx)


def directory_collections(
    users: list[dict[str, Any]], groups: list[dict[str, Any]], ctx: SyncContext | None = None
) -> list[Collection]:
    """The two collections of a directory read completely, each resource with its resolved membership."""
    users, groups = _unique(users), _unique(groups)
    membership = resolve(users, groups)
    if membership.unknown_members and ctx is not None:
        ctx.log.info(
            "thunder members not in the directory left out", plugin="identities", count=membership.unknown_members
        )
    user_resources = [
        Resource(USER_KIND, _named(user), None, {"memberOf": membership.member_of.get(text(user.get("id")), [])})
        for user in users
    ]
    group_resources = [
        Resource(
            GROUP_KIND,
            _named(group),
            None,
            {
                "members": membership.members.get(text(group.get("id")), []),
                "children": membership.children.get(text(group.get("id")), []),
                "parent": membership.parent.get(text(group.get("id"))),
            },
        )
        for group in groups
    ]
    return [Collection(USERS, resources=user_resources), Collection(GROUPS, resources=group_resources)]


def _named(item: dict[str, Any]) -> dict[str, Any]:
    """The item with ``metadata.name`` set to its id: how every report and source id names a resource."""
    return {**item, "metadata": {"name": text(item.get("id")) or "<no id>"}}


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First occurrence of each id: offset paging over a changing list can repeat an item."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = text(item.get("id"))
        if key and key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out


async def _fill_members(api: ExternalApi, groups: list[dict[str, Any]], page_size: int) -> None:
    """Groups listed without ``members`` get them from ``/groups/{id}/members`` (bounded concurrency)."""
    lacking = [g for g in groups if "members" not in g and text(g.get("id"))]
    limit = asyncio.Semaphore(MEMBER_LOOKUPS)

    async def fill(group: dict[str, Any]) -> None:
        async with limit:
            gid = text(group.get("id"))
            group["members"] = await api.walk_offset(
                f"/groups/{quote(gid, safe='')}/members",
                items_key="members",
                what=f"members of Thunder group {gid}",
                page_size=page_size,
            )

    await asyncio.gather(*(fill(g) for g in lacking))
