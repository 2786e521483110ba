"""The ``templates`` family over real HTTP: golden Templates for the six type kinds (generated and
hand-written), a failing ``/schema`` that keeps the Template synced before, unusable hand-written
templates that leave exactly their type without one, and events that re-generate a Template."""

from __future__ import annotations

import socket

import pytest
from templates_helpers import golden_expected, load_golden_world

from openchoreo_sync.events import EVENTS_PATH
from openchoreo_sync.kit import PluginInfo, hookimpl
from openchoreo_sync.mockapi import FaultRule, MockOpenChoreo, World
from openchoreo_sync.model import entity_ref
from openchoreo_sync.reconcile import STALE_ANNOTATION
from openchoreo_sync.testing.harness import deep_merge
from openchoreo_sync.testing.polling import apoll

OWNER = {"openchoreo": {"defaultOwner": "platform-team", "safety": {"maxDeletionRatio": 1.0}}}
TEMPLATE_URL = "scaffolder.openchoreo.dev/backstage-template-url"


def templates(entities: dict) -> dict:
    return {ref: e for ref, e in entities.items() if e["kind"] == "Template"}


def without_relations(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if k != "relations"}


@pytest.fixture
def golden_mock():
    with MockOpenChoreo(world=World()) as mock:
        load_golden_world(mock)
        yield mock


async def test_golden_templates_of_the_six_type_kinds(golden_mock, sync_harness_factory):
    result = await sync_harness_factory(golden_mock.url, OWNER).run()
    assert result.status == "ok" and not result.summary["problems"], result.summary["problems"]
    produced = templates(result.entities)
    expected = golden_expected(f"{golden_mock.url}/scaffolder-templates")
    assert len(expected) == 9
    for entity in expected:
        ref = entity_ref(entity)
        assert ref in produced, f"{ref} missing; produced {sorted(produced)}"
        assert without_relations(produced[ref]) == entity, ref
    assert set(produced) == {entity_ref(e) for e in expected}
    generated = [e for e in expected if not e["metadata"]["annotations"].get(TEMPLATE_URL)]
    assert len(generated) == 7 and all(len(e["spec"]["steps"]) == 1 for e in generated)
    # the types' own entities are the component_types / cluster_kinds families', untouched
    assert "componenttype:acme/web-application" in result.entities
    assert "clusterresourcetype:openchoreo-cluster/message-queue" in result.entities


async def test_failing_schema_skips_that_template_and_keeps_the_one_synced_before(golden_mock, sync_harness_factory):
    golden_mock.world.put("namespaces", "", {"metadata": {"name": "default"}})
    golden_mock.add_scaffolder_showcase("default")
    harness = sync_harness_factory(golden_mock.url, OWNER)
    first = await harness.run()
    before = templates(first.entities)
    postgres = "template:acme/template-resource-postgres"
    assert postgres in before
    # legacy-queue's /schema always fails: no Template, one problem line, its type entity is there
    assert "template:default/template-resource-legacy-queue" not in before
    assert "resourcetype:default/legacy-queue" in first.entities
    [line] = [p for p in first.summary["problems"] if "legacy-queue" in p]
    assert "schema" in line and "500" in line

    golden_mock.faults.add(FaultRule(path=r"/resourcetypes/postgres/schema$", status=500))
    second = await harness.run()
    after = templates(second.entities)
    assert STALE_ANNOTATION in after[postgres]["metadata"]["annotations"], "kept, marked stale"
    assert [p for p in second.summary["problems"] if "postgres" in p]
    fresh = {ref for ref, e in after.items() if STALE_ANNOTATION not in e["metadata"]["annotations"]}
    assert fresh == set(before) - {postgres}, "every other Template is re-generated, not stale"
    assert STALE_ANNOTATION not in second.entities["resourcetype:acme/postgres"]["metadata"]["annotations"]

    golden_mock.faults.clear_rules()
    third = await harness.run()
    assert STALE_ANNOTATION not in templates(third.entities)[postgres]["metadata"]["annotations"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unusable_hand_written_templates_leave_only_their_type_without_one(sync_harness_factory):
    with MockOpenChoreo(world=World()) as mock:
        world = mock.world
        world.put("namespaces", "", {"metadata": {"name": "acme", "labels": {"openchoreo.dev/control-plane": "true"}}})
        base = f"{mock.url}/scaffolder-templates"
        port = mock.url.rsplit(":", 1)[1]
        mock.state.templates["huge.yaml"] = "kind: Template\nmetadata: {name: huge}\n" + "# padding\n" * 2000
        mock.state.templates["no-template.yaml"] = (
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: x}\n"
        )
        broken = {
            "outside-allow-list": (f"http://localhost:{port}/scaffolder-templates/custom-service.yaml", "not allowed"),
            "unreachable": (f"http://127.0.0.1:{closed_port()}/t.yaml", "cannot be read"),
            "too-large": (f"{base}/huge.yaml", "larger than 4096 bytes"),
            "not-yaml": (f"{base}/not-yaml.yaml", "not YAML"),
            "no-template": (f"{base}/no-template.yaml", "no 'kind: Template'"),
            "not-http": ("file:///etc/passwd", "not http or https"),
            "missing": (f"{base}/missing.yaml", "HTTP 404"),
        }
        names = [*broken, "good"]
        for name in names:
            world.put("componenttypes", "acme", {"metadata": {"name": name}, "spec": {"workloadType": "deployment"}})
        settings = {"openchoreo": {**OWNER["openchoreo"], "plugins": {"templates": {"templateUrlMaxBytes": 4096}}}}
        harness = sync_harness_factory(mock.url, settings)
        first = await harness.run()
        assert {f"template:acme/template-{n}" for n in names} <= set(templates(first.entities))

        for name, (url, _) in broken.items():
            body = world.get("componenttypes", "acme", name)
            body["metadata"]["annotations"] = {TEMPLATE_URL: url}
            world.put("componenttypes", "acme", body)
        good = world.get("componenttypes", "acme", "good")
        good["metadata"]["annotations"] = {TEMPLATE_URL: f"{base}/custom-service.yaml"}
        world.put("componenttypes", "acme", good)
        second = await harness.run()

    produced = templates(second.entities)
    assert set(produced) == {"template:acme/template-good"}, "no Template (and no stale one) for a broken override"
    assert produced["template:acme/template-good"]["metadata"]["annotations"]["openchoreo.io/ctd-generated"] == "false"
    for name, (_, reason) in broken.items():
        lines = [p for p in second.summary["problems"] if f"acme/{name}:" in p]
        assert len(lines) == 1 and reason in lines[0], (name, second.summary["problems"])
        assert f"componenttype:acme/{name}" in second.entities, "the type entity is not affected"
    assert second.status == "partial" and not second.summary["failed_collections"]


async def test_events_regenerate_a_types_template(golden_mock, sync_harness_factory):
    # postgres is acme's only resource type: its removal by event empties a collection, which by
    # default (like a full sync) waits for emptyCollectionRuns full syncs; this test wants it now.
    harness = sync_harness_factory(
        golden_mock.url, deep_merge(OWNER, {"openchoreo": {"safety": {"emptyCollectionRuns": 1}}})
    )
    await harness.run()
    url = await harness.serve()
    golden_mock.add_webhook(url + EVENTS_PATH)
    ref = "template:acme/template-resource-postgres"

    def stored(entity_ref):
        return harness.store.load_bodies([entity_ref]).get(entity_ref)

    body = golden_mock.world.get("resourcetypes", "acme", "postgres")
    body["metadata"]["annotations"]["openchoreo.dev/display-name"] = "Postgres 16"
    golden_mock.world.put("resourcetypes", "acme", body)
    renamed = await apoll(
        lambda: (e := stored(ref)) and e["metadata"]["title"] == "Postgres 16" and e, timeout=5, what="re-generated"
    )
    assert renamed["spec"]["parameters"][1]["title"] == "Postgres 16 Details"
    # the same event also reached the type's own family
    await apoll(
        lambda: stored("resourcetype:acme/postgres")["metadata"]["title"] == "Postgres 16", timeout=5, what="type"
    )

    golden_mock.world.delete("resourcetypes", "acme", "postgres")
    await apoll(lambda: stored(ref) is None, timeout=5, what="Template removed with its type")
    await harness.close()


async def test_templates_reach_the_files_output_the_embedded_catalog_and_export(
    golden_mock, sync_harness_factory, tmp_path
):
    import httpx
    import yaml

    directory = tmp_path / "files"
    config = {
        "openchoreo": {**OWNER["openchoreo"], "plugins": {"files": {"enabled": True, "directory": str(directory)}}}
    }
    harness = sync_harness_factory(golden_mock.url, config)
    url = await harness.serve()
    result = await harness.run()
    expected = {entity_ref(e) for e in golden_expected(f"{golden_mock.url}/scaffolder-templates")}
    assert set(templates(result.entities)) == expected

    written = {
        entity_ref(doc)
        for path in directory.rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "Template"
    }
    assert written == expected, "files output"

    async with httpx.AsyncClient(base_url=url) as http:
        listed = (await http.get("/api/catalog/entities", params={"filter": "kind=template"})).json()
    assert {entity_ref(e) for e in listed} == expected, "embedded catalog"

    exported, _ = await harness.engine.export()
    assert set(templates(exported)) == expected, "export"
    await harness.close()


class OwnResourceTemplates:
    """A third party's generator for one kind: answers first for ``ResourceTypeTemplate`` only."""

    @hookimpl
    def plugin_info(self):
        return PluginInfo(description="Our own ResourceType Templates")

    @hookimpl(tryfirst=True)
    def map_resource(self, resource, ctx):
        if resource.kind != "ResourceTypeTemplate":
            return None
        name = resource.body["metadata"]["name"]
        schema = resource.context["schema"]
        return [
            {
                "apiVersion": "scaffolder.backstage.io/v1beta3",
                "kind": "Template",
                "metadata": {"name": f"template-resource-{name}", "namespace": resource.namespace, "title": "Ours"},
                "spec": {"owner": ctx.default_owner, "type": "Resource", "parameters": [schema], "steps": []},
            }
        ]


async def test_a_third_party_replaces_one_generator_without_touching_the_core(golden_mock, sync_harness_factory):
    harness = sync_harness_factory(
        golden_mock.url, OWNER, extra_plugins=[("own_resource_templates", OwnResourceTemplates())]
    )
    result = await harness.run()
    produced = templates(result.entities)
    ours = produced["template:acme/template-resource-postgres"]
    assert ours["metadata"]["title"] == "Ours"
    assert ours["spec"]["parameters"][0]["properties"]["version"]["enum"] == ["15", "16"], (
        "the /schema body it was given"
    )
    # every other kind still comes from the built-in generator
    assert produced["template:acme/template-web-application"]["metadata"]["title"] == "Web App"
    assert produced["template:acme/template-project-standard"]["spec"]["type"] == "Project"
