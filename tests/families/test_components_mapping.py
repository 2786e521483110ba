"""The components family's mappers, joins and relations, against API-shaped input (no HTTP).

Golden: mapping-entities-core.md §7 worked example (System, Component, API) and its §7.3 variants.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from openchoreo_sync import EntityIndex, Relation, Resource, SyncContext, entity_ref
from openchoreo_sync.config import AppConfig
from openchoreo_sync.plugins import components as plugin
from openchoreo_sync.plugins.components.joins import join_components, join_resources
from openchoreo_sync.validation import entity_problems

GOLDEN = Path(__file__).parent / "golden" / "components"
NS = "default"

Data = dict[str, Any]
Entities = list[dict[str, Any]]


def make_ctx(**openchoreo: Any) -> SyncContext:
    config = AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1", **openchoreo}})
    return SyncContext(run_id="test", config=config, log=structlog.get_logger())


def load_input() -> Data:
    data: Data = yaml.safe_load((GOLDEN / "worked_example.input.yaml").read_text())
    return data


def load_expected() -> Entities:
    return list(yaml.safe_load_all((GOLDEN / "worked_example.expected.yaml").read_text()))


def map_resource(resource: Resource, **ctx: Any) -> Entities:
    result = plugin.map_resource(resource=resource, ctx=make_ctx(**ctx))
    assert result is not None
    for entity in result:
        assert entity_problems(entity) == [], entity
    return result


def map_input(data: Data, **ctx: Any) -> Entities:
    """Map like a full sync: projects, then components joined with workloads and projects, then resources."""
    out = [e for p in data["projects"] for e in map_resource(Resource("Project", p, NS), **ctx)]
    for resource in join_components(NS, data["components"], data.get("workloads", []), data["projects"]):
        out += map_resource(resource, **ctx)
    for resource in join_resources(NS, data.get("resources", []), data["projects"]):
        out += map_resource(resource, **ctx)
    return out


def test_worked_example_matches_golden() -> None:
    produced = map_input(load_input())
    expected = load_expected()
    assert produced == expected
    for got, want in zip(produced, expected, strict=True):
        assert list(got["metadata"]["annotations"]) == list(want["metadata"]["annotations"])


def test_other_kinds_are_not_ours() -> None:
    assert plugin.map_resource(resource=Resource("Namespace", {"metadata": {"name": "x"}}), ctx=make_ctx()) is None


# --- §7.3 variants --------------------------------------------------------------------------------------


def _project(data: Data) -> Data:
    project: Data = data["projects"][0]
    return project


def _component(data: Data) -> Data:
    component: Data = data["components"][0]
    return component


def _endpoint(data: Data) -> Data:
    endpoint: Data = data["workloads"][0]["spec"]["endpoints"]["rest-api"]
    return endpoint


SYSTEM, COMPONENT, API = 0, 1, 2


def _set(index: int, path: str, value: Any) -> Callable[[Entities], None]:
    def change(expected: Entities) -> None:
        *parents, leaf = path.split(".")
        target = expected[index]
        for key in parents:
            target = target[key]
        target[leaf] = value

    return change


def _annotation(index: int, key: str, value: str) -> Callable[[Entities], None]:
    def change(expected: Entities) -> None:
        expected[index]["metadata"]["annotations"][key] = value

    return change


def _all(*changes: Callable[[Entities], None]) -> Callable[[Entities], None]:
    def change(expected: Entities) -> None:
        for one in changes:
            one(expected)

    return change


def _insert_before_workload(index: int, items: dict[str, str]) -> Callable[[Entities], None]:
    def change(expected: Entities) -> None:
        annotations = expected[index]["metadata"]["annotations"]
        workload = annotations.pop("openchoreo.io/workload")
        annotations.update(items)
        annotations["openchoreo.io/workload"] = workload

    return change


def _no_api(expected: Entities) -> None:
    del expected[API]
    del expected[COMPONENT]["spec"]["providesApis"]


VARIANTS: dict[str, tuple[Callable[[Data], None], Callable[[Entities], None]]] = {
    "endpoint type REST": (
        lambda d: _endpoint(d).update(type="REST"),
        _annotation(API, "openchoreo.io/endpoint-type", "REST"),
    ),
    "schema without type": (
        lambda d: _endpoint(d)["schema"].pop("type"),
        _all(
            _set(API, "metadata.description", "HTTP API for api-service on port 8080"),
            _set(API, "metadata.tags", ["openchoreo", "api", "http"]),
        ),
    ),
    "schema type REST": (
        lambda d: _endpoint(d)["schema"].update(type="REST"),
        _all(
            _set(API, "spec.type", "rest"),
            _set(API, "metadata.tags", ["openchoreo", "api", "rest"]),
            _set(API, "metadata.description", "REST API for api-service on port 8080"),
        ),
    ),
    "visibility": (
        lambda d: _endpoint(d).update(visibility=["external", "namespace"]),
        _annotation(API, "openchoreo.io/endpoint-visibility", "external,namespace"),
    ),
    "empty schema content": (lambda d: _endpoint(d)["schema"].update(content=""), _no_api),
    "whitespace schema content": (lambda d: _endpoint(d)["schema"].update(content="  \n\t"), _no_api),
    "component not ready": (
        lambda d: _component(d)["status"]["conditions"][0].update(status="False"),
        _all(
            _annotation(COMPONENT, "openchoreo.io/status", "Not Ready"),
            _set(COMPONENT, "spec.lifecycle", "not ready"),
        ),
    ),
    "no conditions": (
        lambda d: _component(d).pop("status"),
        _all(
            _annotation(COMPONENT, "openchoreo.io/status", "Not Ready"),
            _set(COMPONENT, "spec.lifecycle", "not ready"),
        ),
    ),
    "workflow repository": (
        lambda d: _component(d)["spec"].update(
            workflow={
                "kind": "ClusterWorkflow",
                "name": "docker",
                "parameters": {"repository": {"url": "https://github.com/acme/u", "revision": {"branch": "main"}}},
            }
        ),
        _insert_before_workload(
            COMPONENT,
            {"backstage.io/source-location": "url:https://github.com/acme/u", "openchoreo.io/branch": "main"},
        ),
    ),
    "component owner annotation": (
        lambda d: _component(d)["metadata"].update(annotations={"backstage.io/owner": "group:default/team-a"}),
        _all(
            _set(COMPONENT, "spec.owner", "group:default/team-a"),
            _set(API, "spec.owner", "group:default/team-a"),
        ),
    ),
    "project owner annotation": (
        lambda d: _project(d)["metadata"]["annotations"].update({"backstage.io/owner": " team-b "}),
        _all(
            _set(SYSTEM, "spec.owner", "team-b"),
            _set(COMPONENT, "spec.owner", "team-b"),
            _set(API, "spec.owner", "team-b"),
        ),
    ),
    "component owner wins over project owner": (
        lambda d: (
            _project(d)["metadata"]["annotations"].update({"backstage.io/owner": "team-b"}),
            _component(d)["metadata"].update(annotations={"backstage.io/owner": "team-a"}),
        ),
        _all(
            _set(SYSTEM, "spec.owner", "team-b"),
            _set(COMPONENT, "spec.owner", "team-a"),
            _set(API, "spec.owner", "team-a"),
        ),
    ),
    "blank owner annotations fall back to the default": (
        lambda d: (
            _project(d)["metadata"]["annotations"].update({"backstage.io/owner": "  "}),
            _component(d)["metadata"].update(annotations={"backstage.io/owner": ""}),
        ),
        lambda e: None,
    ),
    "deletionTimestamp": (
        lambda d: (
            _project(d)["metadata"].update(deletionTimestamp="2025-02-01T00:00:00Z"),
            _component(d)["metadata"].update(deletionTimestamp="2025-02-01T00:00:00Z"),
        ),
        _all(
            _annotation(SYSTEM, "openchoreo.io/deletion-timestamp", "2025-02-01T00:00:00Z"),
            _insert_before_workload(COMPONENT, {"openchoreo.io/deletion-timestamp": "2025-02-01T00:00:00Z"}),
        ),
    ),
    "project without type": (
        lambda d: _project(d)["spec"].pop("type"),
        lambda e: [
            e[SYSTEM]["metadata"]["annotations"].pop(k)
            for k in ("openchoreo.io/project-type", "openchoreo.io/project-type-kind")
        ],
    ),
    "project type without kind": (
        lambda d: _project(d)["spec"]["type"].pop("kind"),
        _annotation(SYSTEM, "openchoreo.io/project-type-kind", "ProjectType"),
    ),
    "project without pipeline": (
        lambda d: _project(d)["spec"].pop("deploymentPipelineRef"),
        lambda e: e[SYSTEM]["spec"].pop("deploymentPipelineRef"),
    ),
    "descriptions": (
        lambda d: (
            _project(d)["metadata"]["annotations"].update({"openchoreo.dev/description": "Shortens URLs"}),
            _component(d)["metadata"].update(annotations={"openchoreo.dev/description": "The API"}),
        ),
        _all(
            _set(SYSTEM, "metadata.description", "Shortens URLs"),
            _set(COMPONENT, "metadata.description", "The API"),
        ),
    ),
    "cluster component type": (
        lambda d: _component(d)["spec"]["componentType"].update(kind="ClusterComponentType"),
        _annotation(COMPONENT, "openchoreo.io/component-type-kind", "ClusterComponentType"),
    ),
    "no workload": (
        lambda d: d.update(workloads=[]),
        _all(_no_api, lambda e: e[COMPONENT]["metadata"]["annotations"].pop("openchoreo.io/workload")),
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_worked_example_variants(variant: str) -> None:
    change_input, change_expected = VARIANTS[variant]
    data = load_input()
    change_input(data)
    expected = load_expected()
    change_expected(expected)
    produced = map_input(data)
    assert produced == expected
    for got, want in zip(produced, expected, strict=True):
        assert list(got["metadata"]["annotations"]) == list(want["metadata"]["annotations"])


def test_configured_default_owner_in_ref_form_is_not_prefixed_twice() -> None:
    entities = map_input(load_input(), defaultOwner="group:default/platform")
    assert {e["spec"]["owner"] for e in entities} == {"group:default/platform"}


# --- component type and tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component_type", "spec_type", "tag", "kind"),
    [
        ("deployment/web-application", "deployment/web-application", "deployment-web-application", None),
        (
            {"kind": "ComponentType", "name": "cronjob/scheduled-task"},
            "cronjob/scheduled-task",
            "cronjob-scheduled-task",
            "ComponentType",
        ),
        (None, "unknown", "unknown", None),
        ({"kind": "ComponentType"}, "unknown", "unknown", "ComponentType"),
        # upstream replaces only the first "/" and emits an invalid tag; we always emit a valid one
        ({"name": "a/b/c"}, "a/b/c", "a-b-c", None),
        ({"name": "Deployment/Web App"}, "Deployment/Web App", "deployment-web-app", None),
    ],
)
def test_component_type_and_tag(component_type: Any, spec_type: str, tag: str, kind: str | None) -> None:
    data = load_input()
    if component_type is None:
        del _component(data)["spec"]["componentType"]
    else:
        _component(data)["spec"]["componentType"] = component_type
    component = map_input(data)[COMPONENT]
    assert component["spec"]["type"] == spec_type
    assert component["metadata"]["tags"] == ["openchoreo", "component", tag]
    annotations = component["metadata"]["annotations"]
    assert annotations.get("openchoreo.io/component-type") == (None if spec_type == "unknown" else spec_type)
    assert annotations.get("openchoreo.io/component-type-kind") == kind


def test_component_project_falls_back_to_the_label_and_else_is_rejected() -> None:
    data = load_input()
    del _component(data)["spec"]["owner"]
    assert map_input(data)[COMPONENT]["spec"]["system"] == "url-shortener"
    del _component(data)["metadata"]["labels"]
    with pytest.raises(ValueError, match=r"Component default/api-service: has no spec\.owner\.projectName"):
        map_input(data)


# --- providesApis / consumesApis / dependsOn ----------------------------------------------------------------


def _workload(component: str, project: str, endpoints: Data | None = None, deps: Data | None = None) -> Data:
    spec: Data = {"owner": {"projectName": project, "componentName": component}}
    if endpoints is not None:
        spec["endpoints"] = endpoints
    if deps is not None:
        spec["dependencies"] = deps
    return {"kind": "Workload", "metadata": {"name": component, "namespace": NS}, "spec": spec}


def _component_body(name: str, project: str) -> Data:
    return {
        "kind": "Component",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "owner": {"projectName": project},
            "componentType": {"kind": "ComponentType", "name": "deployment/service"},
        },
    }


def _joined(components: list[Data], workloads: list[Data], projects: list[Data] | None = None) -> dict[str, Entities]:
    out: dict[str, Entities] = {}
    for resource in join_components(NS, components, workloads, projects or []):
        out[resource.name] = map_resource(resource)
    return out


SCHEMA = {"type": "openapi", "content": "openapi: 3.0.0"}


def test_consumes_apis_are_filtered_by_the_target_schema() -> None:
    provider = _workload(
        "api",
        "shop",
        {
            "rest": {"type": "HTTP", "port": 80, "schema": SCHEMA},
            "grpc": {
                "type": "gRPC",
                "port": 90,
                "schema": {"type": "proto", "content": "syntax = 'proto3';"},
            },
            "metrics": {"type": "HTTP", "port": 9090},
            "blank": {"type": "HTTP", "port": 91, "schema": {"type": "openapi", "content": "   "}},
        },
    )
    consumer = _workload(
        "web",
        "shop",
        deps={
            "endpoints": [
                {"component": "api", "name": "rest", "visibility": "project"},
                {"component": "api", "name": "metrics", "visibility": "project"},
                {"component": "api", "name": "blank"},
                {"component": "api", "name": "grpc"},
                {"project": "other", "component": "api", "name": "rest"},
                {"component": "missing", "name": "rest"},
                {"component": "api", "name": "rest"},
            ],
            "resources": [{"ref": "orders-db"}, {"ref": "cache", "envBindings": {"host": "CACHE_HOST"}}, {}],
        },
    )
    # another project consuming shop's API explicitly
    billing = _workload(
        "billing", "finance", deps={"endpoints": [{"project": "shop", "component": "api", "name": "rest"}]}
    )
    mapped = _joined(
        [
            _component_body("api", "shop"),
            _component_body("web", "shop"),
            _component_body("billing", "finance"),
        ],
        [provider, consumer, billing],
    )
    api_component, *apis = mapped["api"]
    assert api_component["spec"]["providesApis"] == ["shop-api-rest", "shop-api-grpc"]
    assert [a["metadata"]["name"] for a in apis] == ["shop-api-rest", "shop-api-grpc"]
    assert apis[1]["spec"]["type"] == "proto"
    assert apis[1]["metadata"]["tags"] == ["openchoreo", "api", "proto"]
    assert apis[1]["metadata"]["annotations"]["openchoreo.io/endpoint-type"] == "gRPC"
    web = mapped["web"][0]
    # duplicates are kept like upstream; only dependencies on schema-bearing endpoints survive
    assert web["spec"]["consumesApis"] == ["shop-api-rest", "shop-api-grpc", "shop-api-rest"]
    assert web["spec"]["dependsOn"] == ["resource:default/orders-db", "resource:default/cache"]
    assert "providesApis" not in web["spec"]
    assert "openchoreo.io/workload" in web["metadata"]["annotations"]
    assert mapped["billing"][0]["spec"]["consumesApis"] == ["shop-api-rest"]


def test_first_workload_of_a_component_wins_and_label_links_workloads() -> None:
    first = _workload("api", "shop", {"a": {"type": "HTTP", "port": 1, "schema": SCHEMA}})
    first["metadata"]["name"] = "api-1"
    second = _workload("api", "shop", {"b": {"type": "HTTP", "port": 2, "schema": SCHEMA}})
    second["metadata"]["name"] = "api-2"
    labelled = {"metadata": {"name": "w", "labels": {"openchoreo.dev/component": "web"}}, "spec": {}}
    mapped = _joined([_component_body("api", "shop"), _component_body("web", "shop")], [first, second, labelled])
    assert mapped["api"][0]["spec"]["providesApis"] == ["shop-api-a"]
    assert mapped["api"][0]["metadata"]["annotations"]["openchoreo.io/workload"] == "api-1"
    assert mapped["web"][0]["metadata"]["annotations"]["openchoreo.io/workload"] == "w"


def test_api_whose_name_backstage_rejects_is_dropped_not_the_component() -> None:
    long_endpoint = "e" * 60
    workload = _workload(
        "api",
        "shop",
        {
            long_endpoint: {"type": "HTTP", "port": 1, "schema": SCHEMA},
            "ok": {"type": "HTTP", "port": 2, "schema": SCHEMA},
        },
    )
    consumer = _workload("web", "shop", deps={"endpoints": [{"component": "api", "name": long_endpoint}]})
    mapped = _joined([_component_body("api", "shop"), _component_body("web", "shop")], [workload, consumer])
    assert [e["metadata"]["name"] for e in mapped["api"]] == ["api", "shop-api-ok"]
    assert mapped["api"][0]["spec"]["providesApis"] == ["shop-api-ok"]
    assert "consumesApis" not in mapped["web"][0]["spec"]


def test_api_port_missing_and_visibility_absent() -> None:
    workload = _workload("api", "shop", {"x": {"type": "TCP", "schema": {"content": "c"}}})
    api = _joined([_component_body("api", "shop")], [workload])["api"][1]
    assert api["metadata"]["annotations"]["openchoreo.io/endpoint-port"] == ""
    assert api["metadata"]["annotations"]["openchoreo.io/endpoint-visibility"] == ""
    assert api["metadata"]["description"] == "TCP API for api on port "
    assert api["spec"]["type"] == "openapi"


# --- Resource ----------------------------------------------------------------------------------------------


def resource_body(**spec: Any) -> Data:
    return {
        "apiVersion": "openchoreo.dev/v1alpha1",
        "kind": "Resource",
        "metadata": {
            "name": "orders-db",
            "namespace": NS,
            "uid": "r1",
            "creationTimestamp": "2025-01-06T10:00:07Z",
        },
        "spec": spec,
    }


def test_resource_full_entity() -> None:
    body = resource_body(
        owner={"projectName": "url-shortener"},
        type={"kind": "ClusterResourceType", "name": "postgres"},
        parameters={"version": "16"},
    )
    (entity,) = map_input({"projects": [], "components": [], "resources": [body]})
    assert entity == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {
            "name": "orders-db",
            "namespace": "default",
            "title": "orders-db",
            "description": "orders-db resource",
            "tags": ["openchoreo", "resource", "postgres"],
            "annotations": {
                "backstage.io/managed-by-location": "provider:OpenChoreoEntityProvider",
                "backstage.io/managed-by-origin-location": "provider:OpenChoreoEntityProvider",
                "openchoreo.io/namespace": "default",
                "openchoreo.io/project": "url-shortener",
                "openchoreo.io/resource": "orders-db",
                "openchoreo.io/resource-uid": "r1",
                "openchoreo.io/resource-type": "postgres",
                "openchoreo.io/resource-type-kind": "ClusterResourceType",
                "openchoreo.io/created-at": "2025-01-06T10:00:07Z",
            },
            "labels": {"openchoreo.io/managed": "true"},
        },
        "spec": {
            "type": "postgres",
            "owner": "group:default/openchoreo-users",
            "system": "url-shortener",
            "parameters": {"version": "16"},
        },
    }
    assert entity["spec"]["parameters"] is not body["spec"]["parameters"]


def test_resource_without_type_or_project_or_timestamp() -> None:
    body = resource_body(parameters={})
    del body["metadata"]["creationTimestamp"]
    body["metadata"]["deletionTimestamp"] = "2025-02-01T00:00:00Z"
    (entity,) = map_input({"projects": [], "components": [], "resources": [body]})
    assert entity["metadata"]["tags"] == ["openchoreo", "resource"]  # no empty third tag
    assert entity["spec"] == {"type": "unknown", "owner": "group:default/openchoreo-users"}
    annotations = entity["metadata"]["annotations"]
    assert annotations["openchoreo.io/project"] == ""
    assert annotations["openchoreo.io/resource-type"] == ""
    assert annotations["openchoreo.io/resource-type-kind"] == "ResourceType"
    assert annotations["openchoreo.io/created-at"] == ""
    assert annotations["openchoreo.io/deletion-timestamp"] == "2025-02-01T00:00:00Z"


def test_resource_owner_chain() -> None:
    data = load_input()
    data["components"] = []
    data["resources"] = [resource_body(owner={"projectName": "url-shortener"}, type={"name": "postgres"})]
    assert map_input(data)[1]["spec"]["owner"] == "group:default/openchoreo-users"
    _project(data)["metadata"]["annotations"]["backstage.io/owner"] = "team-b"
    assert map_input(data)[1]["spec"]["owner"] == "team-b"
    data["resources"][0]["metadata"]["annotations"] = {"backstage.io/owner": "group:default/dba"}
    assert map_input(data)[1]["spec"]["owner"] == "group:default/dba"


# --- relations --------------------------------------------------------------------------------


def relate(entities: Entities) -> set[Relation]:
    index = EntityIndex({entity_ref(e): e for e in entities})
    return set(plugin.relate(entities=index, ctx=make_ctx()))


def test_worked_example_relations() -> None:
    assert relate(load_expected()) == {
        Relation("system:default/url-shortener", "usesPipeline", "deploymentpipeline:default/default"),
        Relation("system:default/url-shortener", "instanceOf", "clusterprojecttype:openchoreo-cluster/default"),
        Relation("component:default/api-service", "instanceOf", "componenttype:default/service"),
    }


@pytest.mark.parametrize(
    ("annotations", "target"),
    [
        ({"openchoreo.io/component-type": "deployment/service"}, "componenttype:default/service"),
        ({"openchoreo.io/component-type": "statefulset/db"}, "componenttype:default/db"),
        ({"openchoreo.io/component-type": "cronjob/nightly"}, "componenttype:default/nightly"),
        ({"openchoreo.io/component-type": "job/once"}, "componenttype:default/once"),
        ({"openchoreo.io/component-type": "proxy/gw"}, "componenttype:default/proxy/gw"),
        (
            {
                "openchoreo.io/component-type": "deployment/web",
                "openchoreo.io/component-type-kind": "ClusterComponentType",
            },
            "clustercomponenttype:openchoreo-cluster/web",
        ),
        # the kind comparison is exact, like the upstream processor
        (
            {
                "openchoreo.io/component-type": "deployment/web",
                "openchoreo.io/component-type-kind": "clustercomponenttype",
            },
            "componenttype:default/web",
        ),
        ({}, None),
    ],
)
def test_component_instance_of(annotations: dict[str, str], target: str | None) -> None:
    entity = {
        "kind": "Component",
        "metadata": {"name": "c", "namespace": "default", "annotations": annotations},
        "spec": {},
    }
    expected = {Relation("component:default/c", "instanceOf", target)} if target else set()
    assert relate([entity]) == expected


def test_system_relations_namespaced_project_type() -> None:
    data = load_input()
    _project(data)["spec"]["type"] = {"kind": "ProjectType", "name": "web"}
    _project(data)["metadata"]["namespace"] = "acme"
    system = map_resource(Resource("Project", _project(data), "acme"))[0]
    assert relate([system]) == {
        Relation("system:acme/url-shortener", "usesPipeline", "deploymentpipeline:acme/default"),
        Relation("system:acme/url-shortener", "instanceOf", "projecttype:acme/web"),
    }


def test_resource_instance_of() -> None:
    namespaced = map_input({"projects": [], "components": [], "resources": [resource_body(type={"name": "redis"})]})[0]
    cluster = copy.deepcopy(namespaced)
    cluster["metadata"]["name"] = "cache"
    cluster["metadata"]["annotations"]["openchoreo.io/resource-type-kind"] = "ClusterResourceType"
    untyped = map_input({"projects": [], "components": [], "resources": [resource_body()]})[0]
    untyped["metadata"]["name"] = "untyped"
    assert relate([namespaced, cluster, untyped]) == {
        Relation("resource:default/orders-db", "instanceOf", "resourcetype:default/redis"),
        Relation("resource:default/cache", "instanceOf", "clusterresourcetype:openchoreo-cluster/redis"),
    }


def test_no_standard_relations_are_emitted() -> None:
    """ownedBy/partOf/providesApi/consumesApi/dependsOn are the core's built-in relator's job."""
    kinds = {r.type for r in relate(map_input(load_input()))}
    assert kinds <= {"usesPipeline", "instanceOf"}


def test_plugin_info() -> None:
    info = plugin.plugin_info()
    assert info.kinds == ("System", "Component", "API", "Resource")
    assert ("Project", "System") in info.mapping
    assert set(info.event_kinds) == {"project", "component", "workload", "resource"}
