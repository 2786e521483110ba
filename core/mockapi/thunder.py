"""A Thunder-like user directory (OpenChoreo's identity provider), served by the mock under ``/thunder``.

Shapes follow ``thunder-identities.md``: ``limit``/``offset`` paging with ``totalResults``,
``startIndex``, ``count`` and ``next``/``prev`` links, ``{code, message, description}`` 400s
(``USR-1011``/``USR-1012``, ``GRP-…``), users whose attributes may be missing, groups nesting
through members of type ``group``. The sample directory has users whose names need sanitising,
one without a username, a member id the directory does not know, and a group for every owner the
world's ``backstage.io/owner`` annotations name (plus ``openchoreo.defaultOwner``'s default), so
ownership resolves. ``token`` requires that static bearer token; ``accept_oauth`` also accepts the
mock's own ``/oauth2/token`` tokens. A 500 (fault rule on ``/thunder/users$``, ``page=3``) is
text/plain, like Thunder's.

Use ``m.thunder_url`` as ``thunder.baseUrl`` and ``m.directory`` to change users and groups.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .responses import json_response

PREFIX = "/thunder"
DEFAULT_LIMIT = 30
DEFAULT_OWNER = "openchoreo-users"
_NAMESPACE = uuid.UUID("6d1d3c1e-7a43-4a34-9d0a-6b8f0c2e9f10")
_FILTER = re.compile(r'^\s*(\w+)\s+eq\s+"([^"]*)"\s*$')

Obj = dict[str, Any]


def stable_id(kind: str, name: str) -> str:
    """A UUID like Thunder's, the same for the same name in every run."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


@dataclass
class Directory:
    """Users and groups by id, in insertion order; safe to change while the server reads it."""

    users: dict[str, Obj] = field(default_factory=dict)
    groups: dict[str, Obj] = field(default_factory=dict)
    token: str | None = None
    """When set, every request needs ``Authorization: Bearer <token>``."""
    accept_oauth: bool = False
    """Also accept tokens the mock's ``/oauth2/token`` issued (Thunder as an OAuth2 resource server)."""
    max_limit: int = 100
    """The server's cap on ``limit`` (Thunder caps it; a client must follow)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put_user(self, user: Obj) -> Obj:
        with self._lock:
            self.users[str(user["id"])] = user
        return user

    def delete_user(self, user_id: str) -> bool:
        """Remove a user and its memberships."""
        with self._lock:
            found = self.users.pop(user_id, None) is not None
            for group in self.groups.values():
                group["members"] = [m for m in group.get("members", []) if m.get("id") != user_id]
        return found

    def put_group(self, group: Obj) -> Obj:
        with self._lock:
            self.groups[str(group["id"])] = group
        return group

    def user_by_name(self, username: str) -> Obj | None:
        return next((u for u in self.users.values() if u.get("attributes", {}).get("username") == username), None)

    def group_by_name(self, name: str) -> Obj | None:
        return next((g for g in self.groups.values() if g.get("name") == name), None)

    def snapshot(self) -> tuple[list[Obj], list[Obj]]:
        with self._lock:
            return list(self.users.values()), list(self.groups.values())


def _user(
    username: str | None,
    *,
    first: str | None = None,
    last: str | None = None,
    email: str | None = None,
    user_type: str | None = "employee",
    ou: str | None = "ou-engineering",
    key: str | None = None,
) -> Obj:
    attributes: Obj = {}
    for name, value in (("username", username), ("firstname", first), ("lastname", last), ("email", email)):
        if value is not None:
            attributes[name] = value
    user: Obj = {"id": stable_id("user", key or username or "anonymous"), "attributes": attributes}
    if ou is not None:
        user["organizationUnit"] = ou
    if user_type is not None:
        user["type"] = user_type
    return user


def _group(name: str, members: Iterable[tuple[str, str]], description: str | None = None) -> Obj:
    group: Obj = {
        "id": stable_id("group", name),
        "name": name,
        "organizationUnitId": "ou-engineering",
        "members": [{"id": member_id, "type": kind} for member_id, kind in members],
    }
    if description is not None:
        group["description"] = description
    return group


def build_directory(owner_groups: Iterable[str] = (), *, extra_users: int = 6) -> Directory:
    """The sample directory: nested groups, awkward users, and a group per owner in ``owner_groups``."""
    directory = Directory()
    people = [
        _user("alice", first="Alice", last="Liddell", email="alice@example.com"),
        _user("Bob.Smith@Example.com", first="Bob"),  # needs sanitising; no last name, no email
        _user(None, first="Carol", key="carol", user_type=None),  # no username: named by id
        _user("dave", last="Jones", email="dave@example.com", ou=None),  # no first name
        _user("Erin  O'Neil", first="Erin", last="O'Neil", user_type="contractor"),
        _user("frank", first="Frank", last="Castle", email="frank@example.com"),
        _user("grace", first="Grace", last="Hopper", email="grace@example.com"),
    ]
    people += [
        _user(f"user{i:02d}", first=f"User{i:02d}", last="Generated", email=f"user{i:02d}@example.com")
        for i in range(extra_users)
    ]
    for person in people:
        directory.put_user(person)

    def uid(key: str) -> str:
        return stable_id("user", key)

    def gid(name: str) -> str:
        return stable_id("group", name)

    owners = sorted({name for name in owner_groups if name and name not in (DEFAULT_OWNER, "platform-team")})
    backend = _group(
        "Backend Devs", [(uid("frank"), "user"), (uid("grace"), "user"), (stable_id("user", "ghost"), "user")]
    )
    platform = _group("platform-team", [(uid("carol"), "user"), (uid("dave"), "user")], "Runs the platform")
    engineering = _group(
        "Engineering",
        [(gid("Backend Devs"), "group"), (uid("Erin  O'Neil"), "user"), *((gid(o), "group") for o in owners)],
        "All engineers",
    )
    top = _group(
        DEFAULT_OWNER,
        [
            (uid("alice"), "user"),
            (uid("Bob.Smith@Example.com"), "user"),
            (gid("platform-team"), "group"),
            (gid("Engineering"), "group"),
        ],
        "Everyone who uses OpenChoreo",
    )
    for group in (top, platform, engineering, backend):
        directory.put_group(group)
    generated = [uid(f"user{i:02d}") for i in range(extra_users)]
    for index, owner in enumerate(owners):
        members = [generated[index % len(generated)]] if generated else []
        directory.put_group(_group(owner, ((m, "user") for m in members)))
    return directory


def owner_groups_of(world_items: Iterable[Obj]) -> set[str]:
    """Group names that ``backstage.io/owner`` annotations in the default namespace name."""
    names: set[str] = set()
    for obj in world_items:
        owner = ((obj.get("metadata") or {}).get("annotations") or {}).get("backstage.io/owner")
        if isinstance(owner, str) and owner.startswith("group:default/"):
            names.add(owner.removeprefix("group:default/"))
    return names


# --- HTTP ---------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, description: str) -> Response:
    return json_response({"code": code, "message": message, "description": description}, status)


class ThunderApi:
    """The ``/thunder`` routes over one :class:`Directory` (read through a holder, so it can be swapped)."""

    def __init__(self, holder: Any) -> None:
        self._holder = holder

    @property
    def directory(self) -> Directory:
        directory: Directory = self._holder.directory
        return directory

    def _denied(self, request: Request) -> Response | None:
        directory = self.directory
        if directory.token is None and not directory.accept_oauth:
            return None
        header = request.headers.get("authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            if directory.token is not None and value == directory.token:
                return None
            if directory.accept_oauth and self._holder.auth.check(header) is None:
                return None
        return _error(401, "AUT-1001", "Unauthorized", "a valid bearer token is required")

    def _page(self, request: Request, prefix: str, collection: str, items: list[Obj]) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit", DEFAULT_LIMIT))
            if limit < 1:
                raise ValueError
        except ValueError:
            return _error(400, f"{prefix}-1011", "Invalid limit parameter", "limit must be a positive integer")
        try:
            offset = int(q.get("offset", 0))
            if offset < 0:
                raise ValueError
        except ValueError:
            return _error(400, f"{prefix}-1012", "Invalid offset parameter", "offset must be a non-negative integer")
        limit = min(limit, self.directory.max_limit)
        page = items[offset : offset + limit]
        links = []
        if offset + len(page) < len(items):
            links.append({"href": f"{collection}?offset={offset + limit}&limit={limit}", "rel": "next"})
        if offset > 0:
            links.append({"href": f"{collection}?offset={max(0, offset - limit)}&limit={limit}", "rel": "prev"})
        return json_response(
            {"totalResults": len(items), "startIndex": offset + 1, "count": len(page), collection: page, "links": links}
        )

    async def list_users(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        users, _ = self.directory.snapshot()
        expression = request.query_params.get("filter")
        if expression:
            match = _FILTER.match(expression)
            if match is None:
                return _error(400, "USR-1013", "Invalid filter parameter", 'expected attr eq "value"')
            attribute, value = match.groups()
            users = [u for u in users if str(u.get("attributes", {}).get(attribute)) == value]
        return self._page(request, "USR", "users", users)

    async def get_user(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        user = self.directory.users.get(request.path_params["id"])
        return json_response(user) if user else _error(404, "USR-1003", "User not found", "no user with this id")

    async def user_groups(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        user_id = request.path_params["id"]
        users, groups = self.directory.snapshot()
        if not any(u["id"] == user_id for u in users):
            return _error(404, "USR-1003", "User not found", "no user with this id")
        mine = [
            {"id": g["id"], "name": g["name"], "organizationUnit": g.get("organizationUnitId")}
            for g in groups
            if any(m.get("id") == user_id for m in g.get("members", []))
        ]
        return self._page(request, "USR", "groups", mine)

    async def list_groups(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        _, groups = self.directory.snapshot()
        return self._page(request, "GRP", "groups", groups)

    async def get_group(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        group = self.directory.groups.get(request.path_params["id"])
        return json_response(group) if group else _error(404, "GRP-1003", "Group not found", "no group with this id")

    async def group_members(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        group = self.directory.groups.get(request.path_params["id"])
        if group is None:
            return _error(404, "GRP-1003", "Group not found", "no group with this id")
        return self._page(request, "GRP", "members", list(group.get("members", [])))


def thunder_routes(holder: Any) -> list[Route]:
    """The directory's routes; ``holder`` has ``directory`` and ``auth`` (the mock's state)."""
    api = ThunderApi(holder)
    get = ["GET"]
    return [
        Route(f"{PREFIX}/users", api.list_users, methods=get),
        Route(f"{PREFIX}/users/{{id}}", api.get_user, methods=get),
        Route(f"{PREFIX}/users/{{id}}/groups", api.user_groups, methods=get),
        Route(f"{PREFIX}/groups", api.list_groups, methods=get),
        Route(f"{PREFIX}/groups/{{id}}", api.get_group, methods=get),
        Route(f"{PREFIX}/groups/{{id}}/members", api.group_members, methods=get),
    ]


def offset_page(query: dict[str, list[str]], cap: int) -> int | None:
    """The 1-based page an offset request reads (for page-targeted faults); None if not one."""
    if "offset" not in query:
        return None
    try:
        offset = int(query["offset"][0])
        limit = min(int((query.get("limit") or [str(DEFAULT_LIMIT)])[0]), cap)
    except ValueError:
        return None
    return offset // max(limit, 1) + 1
