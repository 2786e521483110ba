"""The identities family without HTTP: golden mapping, membership resolution, names, settings.

Golden: the official module's fields (thunder-identities.md) with membership resolved; see
docs/parity.md for the two upstream bugs this family fixes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from openchoreo_sync import Resource, SyncContext, entity_ref
from openchoreo_sync.config import AppConfig
from openchoreo_sync.errors import ConfigError
from openchoreo_sync.plugins import identities as plugin
from openchoreo_sync.plugins.identities.directory import directory_collections
from openchoreo_sync.plugins.identities.names import sanitise
from openchoreo_sync.plugins.identities.settings import load_settings
from openchoreo_sync.validation import entity_problems

GOLDEN = Path(__file__).parent / "golden" / "identities"


def make_ctx(**thunder: Any) -> SyncContext:
    config = AppConfig.model_validate(
        {"openchoreo": {"baseUrl": "http://127.0.0.1:1"}, "thunder": {"baseUrl": "http://127.0.0.1:2", **thunder}}
    )
    return SyncContext(run_id="test", config=config, log=structlog.get_logger())


def map_directory(users: list[dict[str, Any]], groups: list[dict[str, Any]], **thunder: Any) -> list[dict[str, Any]]:
    ctx = make_ctx(**thunder)
    out: list[dict[str, Any]] = []
    for collection in directory_collections(users, groups):
        for resource in collection.resources:
            mapped = plugin.map_resource(resource=resource, ctx=ctx)
            assert mapped is not None
            for entity in mapped:
                assert entity_problems(entity) == [], entity
            out += mapped
    return out


def golden_input() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((GOLDEN / "directory.input.yaml").read_text())
    return data


def test_directory_matches_golden() -> None:
    data = golden_input()
    expected = list(yaml.safe_load_all((GOLDEN / "directory.expected.yaml").read_text()))
    assert map_directory(data["users"], data["groups"]) == expected


def test_every_membership_reference_names_an_entity_of_the_set() -> None:
    """Upstream names members by sanitised id while users are named by username: nothing resolves."""
    data = golden_input()
    entities = {entity_ref(e): e for e in map_directory(data["users"], data["groups"])}
    references = 0
    for entity in entities.values():
        spec = entity["spec"]
        if entity["kind"] == "User":
            targets = [f"group:default/{g}" for g in spec["memberOf"]]
        else:
            targets = [f"user:default/{u}" for u in spec["members"]]
            targets += [f"group:default/{g}" for g in spec["children"]]
            targets += [f"group:default/{spec['parent']}"] if "parent" in spec else []
        references += len(targets)
        assert [t for t in targets if t not in entities] == [], entity_ref(entity)
    assert references >= 15
    # the inverse directions agree: a user lists a group exactly when the group lists the user
    for ref, user in entities.items():
        if user["kind"] != "User":
            continue
        listed_by = sorted(
            g["metadata"]["name"]
            for g in entities.values()
            if g["kind"] == "Group" and user["metadata"]["name"] in g["spec"]["members"]
        )
        assert user["spec"]["memberOf"] == listed_by, ref


def test_nested_groups_carry_parent_and_children() -> None:
    data = golden_input()
    groups = {
        e["metadata"]["name"]: e["spec"] for e in map_directory(data["users"], data["groups"]) if e["kind"] == "Group"
    }
    assert groups["openchoreo-users"]["children"] == ["engineering", "platform-team"]
    assert "parent" not in groups["openchoreo-users"]
    assert groups["engineering"]["parent"] == "openchoreo-users"
    # in two groups: Backstage allows one parent; the first by name, both list it as a child
    assert groups["on_call"]["parent"] == "engineering"
    assert "on_call" in groups["platform-team"]["children"] and "on_call" in groups["engineering"]["children"]


def test_unknown_member_ids_are_left_out_not_dangling() -> None:
    data = golden_input()
    engineering = next(
        e for e in map_directory(data["users"], data["groups"]) if e["metadata"]["name"] == "engineering"
    )
    assert engineering["spec"]["members"] == ["bob-smith-example-com"]
    assert engineering["spec"]["children"] == ["on_call"]


def test_default_namespace_is_used() -> None:
    data = golden_input()
    namespaces = {
        e["metadata"]["namespace"] for e in map_directory(data["users"], data["groups"], defaultNamespace="people")
    }
    assert namespaces == {"people"}


def test_duplicate_ids_from_shifting_pages_are_read_once() -> None:
    data = golden_input()
    users = data["users"] + [data["users"][0]]
    assert len([e for e in map_directory(users, data["groups"]) if e["kind"] == "User"]) == len(data["users"])


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("alice", "alice"),
        ("Bob.Smith@Example.COM", "bob-smith-example-com"),
        ("--a---b--", "a-b"),
        ("__dave--ops__", "dave-ops"),
        ("a_-_b", "a-b"),
        ("a__b", "a_b"),
        ("Ünïcode Name", "n-code-name"),
        ("!!!", ""),
        ("x" * 70, "x" * 63),
    ],
)
def test_sanitise(raw: str, name: str) -> None:
    assert sanitise(raw) == name


def test_a_user_without_any_name_is_reported_not_invented() -> None:
    ctx = make_ctx()
    resource = Resource("ThunderUser", {"id": "!!!", "attributes": {}, "metadata": {"name": "!!!"}})
    with pytest.raises(ValueError, match="neither a usable name nor an id"):
        plugin.map_resource(resource=resource, ctx=ctx)


def test_other_kinds_are_not_ours() -> None:
    assert plugin.map_resource(resource=Resource("Component", {"metadata": {"name": "x"}}, "d"), ctx=make_ctx()) is None


def test_settings_off_without_base_url() -> None:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}, "thunder": {"token": "t"}})
    assert load_settings(config) is None
    assert load_settings(AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})) is None


def test_settings_defaults_are_the_official_ones() -> None:
    settings = load_settings(make_ctx().config)
    assert settings is not None
    assert (settings.default_namespace, settings.schedule.frequency, settings.schedule.timeout) == ("default", 600, 300)
    assert settings.token is None and settings.auth is None


@pytest.mark.parametrize(
    ("thunder", "message"),
    [
        ({"schedule": {"frequency": {"minutes": 1}}}, "thunder.schedule.frequency must be a plain integer"),
        ({"schedule": {"timeout": 0}}, "thunder.schedule.timeout must be at least 1 second"),
        ({"baseUrl": "thunder:8090"}, "thunder.baseUrl must be an http(s) URL"),
        ({"defaultNamespace": "Not Valid"}, "thunder.defaultNamespace must be a Backstage namespace"),
        ({"tokn": "x"}, "thunder.tokn is not a known key"),
    ],
)
def test_bad_settings_name_the_key(thunder: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(make_ctx(**thunder).config)


def test_a_thunder_block_that_is_not_a_mapping_is_named() -> None:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}, "thunder": "http://x"})
    with pytest.raises(ConfigError, match="thunder must be a mapping"):
        load_settings(config)
