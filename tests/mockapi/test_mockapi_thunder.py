"""The mock's Thunder-like directory: paging shapes, error codes, nesting, auth and page faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOpenChoreo]:
    with MockOpenChoreo(WorldSpec(namespaces=1, projects=1, components=3)) as m:
        yield m


@pytest.fixture(autouse=True)
def clean(mock: MockOpenChoreo) -> Iterator[None]:
    yield
    mock.faults.reset()
    mock.directory.token = None
    mock.directory.max_limit = 100


def get(mock: MockOpenChoreo, path: str, **kw: object) -> httpx.Response:
    return httpx.get(mock.thunder_url + path, timeout=5, **kw)  # type: ignore[arg-type]


def test_users_page_with_links_and_counts(mock: MockOpenChoreo) -> None:
    total = len(mock.directory.users)
    first = get(mock, "/users", params={"limit": 5}).json()
    assert (first["totalResults"], first["startIndex"], first["count"]) == (total, 1, 5)
    assert first["links"] == [{"href": "users?offset=5&limit=5", "rel": "next"}]
    last = get(mock, "/users", params={"limit": 5, "offset": 10}).json()
    assert last["startIndex"] == 11 and last["count"] == total - 10
    assert last["links"] == [{"href": "users?offset=5&limit=5", "rel": "prev"}]
    default = get(mock, "/users").json()
    assert default["count"] == min(total, 30)


def test_the_server_caps_limit(mock: MockOpenChoreo) -> None:
    mock.directory.max_limit = 4
    assert get(mock, "/users", params={"limit": 100}).json()["count"] == 4


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/users", {"limit": "x"}, "USR-1011"),
        ("/users", {"limit": "0"}, "USR-1011"),
        ("/users", {"offset": "-1"}, "USR-1012"),
        ("/groups", {"limit": "many"}, "GRP-1011"),
        ("/groups", {"offset": "x"}, "GRP-1012"),
    ],
)
def test_bad_paging_parameters(mock: MockOpenChoreo, path: str, params: dict[str, str], code: str) -> None:
    response = get(mock, path, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == code and set(response.json()) == {"code", "message", "description"}


def test_users_have_missing_attributes_and_names_to_sanitise(mock: MockOpenChoreo) -> None:
    users = get(mock, "/users", params={"limit": 100}).json()["users"]
    assert any("username" not in u["attributes"] for u in users)
    assert any("lastname" not in u["attributes"] for u in users)
    assert any("email" not in u["attributes"] for u in users)
    assert any("type" not in u for u in users)
    assert any(not (u["attributes"].get("username") or "a").isalnum() for u in users)


def test_groups_nest_and_name_members_by_id(mock: MockOpenChoreo) -> None:
    groups = get(mock, "/groups", params={"limit": 100}).json()["groups"]
    by_name = {g["name"]: g for g in groups}
    assert "openchoreo-users" in by_name and "platform-team" in by_name
    top = by_name["openchoreo-users"]
    assert {m["type"] for m in top["members"]} == {"user", "group"}
    one = get(mock, f"/groups/{top['id']}").json()
    assert one == top
    members = get(mock, f"/groups/{top['id']}/members", params={"limit": 2}).json()
    assert members["totalResults"] == len(top["members"]) and members["count"] == 2
    alice = mock.directory.user_by_name("alice")
    assert alice is not None
    mine = get(mock, f"/users/{alice['id']}/groups").json()["groups"]
    assert [g["name"] for g in mine] == ["openchoreo-users"]
    assert get(mock, f"/users/{alice['id']}").json() == alice
    assert get(mock, "/users/nobody").status_code == 404
    assert get(mock, "/groups/nobody").json()["code"] == "GRP-1003"


def test_filter_by_attribute(mock: MockOpenChoreo) -> None:
    found = get(mock, "/users", params={"filter": 'username eq "alice"'}).json()
    assert [u["attributes"]["username"] for u in found["users"]] == ["alice"]
    assert get(mock, "/users", params={"filter": "username = alice"}).status_code == 400


def test_a_static_bearer_token(mock: MockOpenChoreo) -> None:
    mock.directory.token = "directory-token-1234"
    assert get(mock, "/users").status_code == 401
    assert get(mock, "/users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert get(mock, "/users", headers={"Authorization": "Bearer directory-token-1234"}).status_code == 200


def test_a_fault_on_the_third_page_is_a_text_500(mock: MockOpenChoreo) -> None:
    mock.directory.max_limit = 4
    mock.faults.fail(r"^/thunder/users$", status=500, page=3)
    assert get(mock, "/users", params={"limit": 100, "offset": 4}).status_code == 200
    third = get(mock, "/users", params={"limit": 100, "offset": 8})
    assert third.status_code == 500 and third.headers["content-type"].startswith("text/plain")
    assert get(mock, "/groups", params={"limit": 100, "offset": 8}).status_code == 200


def test_the_directory_has_a_group_for_every_owner_the_world_names(mock: MockOpenChoreo) -> None:
    names = {g["name"] for g in mock.directory.groups.values()}
    owners = set()
    for ns in mock.world.snapshot("namespaces", "").items:
        for collection in ("projects", "components"):
            for obj in mock.world.snapshot(collection, ns).items.values():
                owner = (obj["metadata"].get("annotations") or {}).get("backstage.io/owner", "")
                if owner.startswith("group:default/"):
                    owners.add(owner.removeprefix("group:default/"))
    assert owners and owners <= names
