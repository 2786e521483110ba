"""Pure parts of the ``backstage`` output: YAML safety, custom-kind conversion, index shape, rules text."""

from __future__ import annotations

import json

import yaml

from openchoreo_sync.config import AppConfig
from openchoreo_sync.kit.publishing import (
    PLACEHOLDER_MARKER,
    clean_entity,
    dump_entities,
    filter_allowed,
    pyyaml_dump,
    strip_computed,
)
from openchoreo_sync.model import entity_ref
from openchoreo_sync.plugins.backstage.kinds import apply_custom_kinds, resource_name
from openchoreo_sync.plugins.backstage.layout import INDEX_FILE, RenderedFiles, build_publication

OWNER = "group:default/openchoreo-users"


def entity(kind: str, name: str, namespace: str = "default", **spec: object) -> dict:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": dict(spec),
    }


def test_placeholders_stay_data_and_yaml_is_safe() -> None:
    hostile = entity("Component", "c", type="service", owner=OWNER, notes={"$text": "http://169.254.169.254/"})
    hostile["metadata"]["description"] = "!!python/object:os.system 'x'\n---\nkind: Group"
    hostile["relations"] = [{"type": "ownedBy", "targetRef": OWNER}]
    cleaned = clean_entity(hostile)
    assert cleaned["spec"]["notes"] == {"$text": "http://169.254.169.254/", PLACEHOLDER_MARKER: "placeholder"}
    assert "relations" not in cleaned and "relations" in hostile  # the snapshot is not mutated
    (doc,) = list(yaml.safe_load_all(dump_entities([cleaned])))
    assert doc["metadata"]["description"] == hostile["metadata"]["description"]


def test_placeholders_are_defused_as_the_yaml_is_written() -> None:
    """``dump_entities`` of an undefused entity writes what it writes for ``clean_entity``'s copy."""
    lone = {"$text": "http://169.254.169.254/"}
    hostile = entity("Component", "c", type="service", owner=OWNER, notes=lone, items=[lone, [lone], {"a": lone}])
    hostile["spec"]["deep"] = {"$yaml": {"$json": "x"}, "$other": 1}  # two keys: left alone; its child is not
    hostile["spec"]["empty"] = {"$": {}}
    hostile["metadata"]["annotations"] = {"$json": "u", "backstage.io/managed-by-location": "x"}  # lone once cleaned
    hostile["metadata"]["uid"] = "1"
    others = [entity("API", "a", definition="$text"), {**lone, "kind": "Odd", "metadata": {"name": "o"}}]
    stripped = [strip_computed(e) for e in [hostile, *others]]
    assert "$text" in str(stripped[0]) and PLACEHOLDER_MARKER not in str(stripped[0])  # nothing copied or marked
    cleaned = [clean_entity(e) for e in [hostile, *others]]
    assert dump_entities(stripped) == dump_entities(cleaned)
    assert dump_entities(stripped) == pyyaml_dump(sorted(cleaned, key=entity_ref)).encode()
    assert dump_entities(stripped).count(PLACEHOLDER_MARKER.encode()) == 7
    odd = [{**strip_computed(hostile), "spec": {"t": ("$x",), "m": {"$k": (1, 2)}}}]  # tuples: PyYAML's path
    assert dump_entities(odd) == pyyaml_dump([clean_entity(odd[0])]).encode()


def test_a_file_whose_documents_did_not_change_is_reused_and_others_are_rendered() -> None:
    a = [entity("Component", f"c{i}", "ns-a", type="service", owner=OWNER) for i in range(3)]
    b = [entity("Component", f"c{i}", "ns-b", type="service", owner=OWNER) for i in range(3)]
    rendered = RenderedFiles()
    first = build_publication([*a, *b], "http://x", "kind", rendered)
    changed = [*a[:2], {**a[2], "spec": {**a[2]["spec"], "lifecycle": "experimental"}}]
    second = build_publication([*changed, *b], "http://x", "kind", rendered)
    assert second.files == build_publication([*changed, *b], "http://x", "kind").files
    assert second.files["ns-b/component.yaml"] is first.files["ns-b/component.yaml"]  # not rendered again
    assert b"experimental" in second.files["ns-a/component.yaml"]
    nan = [{**b[0], "spec": {"x": float("nan")}}, *b[1:]]  # orjson writes NaN as null: never a key
    third = build_publication([*changed, *nan], "http://x", "kind", rendered)
    none = build_publication([*changed, {**b[0], "spec": {"x": None}}, *b[1:]], "http://x", "kind", rendered)
    assert b".nan" in third.files["ns-b/component.yaml"] and b"x: null" in none.files["ns-b/component.yaml"]


def test_dump_is_deterministic_whatever_the_key_order() -> None:
    a = entity("Component", "a", type="service", owner=OWNER)
    b = {
        "spec": {"owner": OWNER, "type": "service"},
        "metadata": {"namespace": "default", "name": "a"},
        "kind": "Component",
        "apiVersion": "backstage.io/v1alpha1",
    }
    assert dump_entities([a, entity("API", "z")]) == dump_entities([entity("API", "z"), b])


def test_resource_mode_prefixes_names_so_kinds_never_collide() -> None:
    env = entity("Environment", "prod", "shop", owner="group:default/ops")
    plane = entity("Dataplane", "prod", "shop")
    real = entity("Resource", "environment-prod", "shop", type="db", owner=OWNER)
    out, problems = apply_custom_kinds([env, plane, real], "resource", OWNER)
    names = sorted(e["metadata"]["name"] for e in out)
    assert names == ["dataplane-prod", "environment-prod"]  # the real Resource wins the clash
    assert problems and "Environment prod" in problems[0]
    plane_out = next(e for e in out if e["metadata"]["name"] == "dataplane-prod")
    assert plane_out["spec"]["owner"] == OWNER and plane_out["spec"]["type"] == "openchoreo-dataplane"


def test_long_resource_names_stay_valid_and_distinct() -> None:
    a, b = (
        resource_name("ObservabilityAlertsNotificationChannel", "x" * 60),
        resource_name("ObservabilityAlertsNotificationChannel", "x" * 61),
    )
    assert len(a) <= 63 and len(b) <= 63 and a != b


def test_index_has_one_single_target_location_per_file() -> None:
    pub = build_publication(
        [entity("Component", "a"), entity("Component", "b", "ns2"), entity("API", "c")],
        "http://h:1/p",
        "kind",
    )
    locations = list(yaml.safe_load_all(pub.files[INDEX_FILE]))
    assert sorted(loc["spec"]["target"] for loc in locations) == sorted(pub.url(p) for p in pub.entity_files())
    assert all("targets" not in loc["spec"] for loc in locations)
    names = {loc["metadata"]["name"] for loc in locations}
    assert len(names) == 3 and all(len(n) <= 63 for n in names)


def test_rules_keep_the_configured_spelling_in_the_suggested_line() -> None:
    config = AppConfig.model_validate(
        {"openchoreo": {"baseUrl": "http://x"}, "catalog": {"rules": [{"allow": ["Component", "Location"]}]}}
    )
    result = filter_allowed([entity("Component", "a"), entity("Environment", "e"), entity("Environment", "f")], config)
    assert [e["metadata"]["name"] for e in result.allowed] == ["a"]
    assert "Environment (2)" in (result.warning() or "")
    assert "catalog.rules: [{allow: [Component, Location, Environment]}]" in (result.warning() or "")


def test_relations_of_converted_entities_go_into_builtin_fields_with_their_type_kept() -> None:
    from openchoreo_sync.plugins.backstage.graph import RELATIONS_ANNOTATION, express_relations
    from openchoreo_sync.plugins.backstage.kinds import convert_kinds

    domain = entity("Domain", "shop", owner=OWNER)
    env = entity("Environment", "dev", "shop")
    env["relations"] = [{"type": "partOf", "targetRef": "domain:default/shop"}]
    web = entity("Component", "web", "shop", type="service", owner=OWNER)
    web["relations"] = [{"type": "deploysTo", "targetRef": "environment:shop/dev"}]
    system = entity("System", "s", "shop", owner=OWNER)
    system["relations"] = [{"type": "usesPipeline", "targetRef": "deploymentpipeline:shop/p"}]
    pipeline = entity("DeploymentPipeline", "p", "shop")
    pipeline["relations"] = [{"type": "pipelineUsedBy", "targetRef": "system:shop/s"}]
    snapshot = [domain, env, web, system, pipeline]
    frozen = repr(snapshot)
    conversion = convert_kinds(snapshot, "auto", OWNER)
    out, expressed = express_relations(
        conversion.entities, conversion.ref_map, conversion.converted, custom_everywhere=True
    )
    by_name = {e["metadata"]["name"]: e for e in out}
    assert by_name["environment-dev"]["spec"]["system"] == "domain:default/shop"  # Domain hasPart it
    assert by_name["web"]["spec"]["dependsOn"] == ["resource:shop/environment-dev"]
    notes = json.loads(by_name["web"]["metadata"]["annotations"][RELATIONS_ANNOTATION])
    assert notes == [{"source": "component:shop/web", "target": "resource:shop/environment-dev", "type": "deploysTo"}]
    # System cannot declare dependsOn: the converted pipeline declares dependencyOf instead.
    assert by_name["deploymentpipeline-p"]["spec"]["dependencyOf"] == ["system:shop/s"]
    assert expressed.summary() == {"spec.system": {"partOf": 1}, "dependsOn": {"deploysTo": 1, "usesPipeline": 1}}
    assert repr(snapshot) == frozen, "the snapshot's own entities must not change"


def test_owner_groups_cover_the_default_and_named_owners_but_not_users_or_existing_groups() -> None:
    from openchoreo_sync.plugins.backstage.owners import missing_owner_groups

    entities = [
        entity("Component", "a", "shop", owner="team-a"),  # bare: group:shop/team-a, like Backstage
        entity("Component", "b", owner="group:default/platform"),
        entity("Component", "c", owner="user:default/jane"),
        entity("Group", "platform"),
        entity("System", "s", owner="group:default/ops"),
    ]
    refs = sorted(
        f"group:{g['metadata']['namespace']}/{g['metadata']['name']}"
        for g in missing_owner_groups(entities, OWNER, provided_elsewhere={"group:default/ops"})
    )
    assert refs == ["group:default/openchoreo-users", "group:shop/team-a"]


def test_relations_note_is_the_standard_librarys_compact_ascii_json() -> None:
    """The annotation's text is the same whichever encoder wrote it, for every kind of text a ref
    may hold: plain ASCII (orjson's path) and what ``json`` escapes but orjson does not."""
    from openchoreo_sync.plugins.backstage.graph import relations_note

    for text in ("web-api", "café", "\x7f", "\x01", "\n", '"', "\\", "/", "\ud800", "\u2028", "<&>", "😀"):
        notes = [
            {"type": "deploysTo", "source": f"component:ns/{text}", "target": "resource:ns/env"},
            {"type": "a", "target": text, "source": "x"},
        ]
        assert relations_note(notes) == json.dumps(notes, separators=(",", ":"), sort_keys=True), repr(text)
