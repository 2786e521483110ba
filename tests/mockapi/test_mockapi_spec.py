"""Every response of the mock validates against the OpenAPI spec, except where the real
server departs from the spec (openchoreo-api.md ⚠); there the real behaviour is asserted."""

from __future__ import annotations

import httpx
import pytest
import yaml
from mockapi_helpers import list_paths, validate, walk

from openchoreo_sync.mockapi import MockOpenChoreo, scaffolder
from openchoreo_sync.mockapi.kinds import KINDS
from openchoreo_sync.testing.mockapi_fixtures import mock_openchoreo, mock_openchoreo_factory  # noqa: F401


@pytest.fixture(scope="module")
def mock() -> object:
    with MockOpenChoreo() as m:
        yield m


@pytest.mark.parametrize("limit", [7, 100])
def test_every_page_of_every_list_validates(mock: MockOpenChoreo, limit: int) -> None:
    namespaces = mock.world.namespaces()
    assert "default" in namespaces and len(namespaces) >= 3
    with httpx.Client(base_url=mock.url) as client:
        total = 0
        for path in list_paths(namespaces):
            pages = walk(client, path, limit)
            for page in pages:
                assert page.status_code == 200, (path, page.text)
                assert page.text.endswith("\n")
                validate(page)
                body = page.json()
                # remainingCount is in the schema but the real handler never fills it.
                assert "remainingCount" not in body["pagination"]
                assert len(body["items"]) <= limit
                total += len(body["items"])
            assert pages[-1].json()["pagination"] == {}
        assert total > 100


def test_every_item_validates_by_name(mock: MockOpenChoreo) -> None:
    with httpx.Client(base_url=mock.url) as client:
        for path in list_paths(mock.world.namespaces()):
            for item in walk(client, path, 100)[-1].json()["items"][:3]:
                resp = client.get(f"{path}/{item['metadata']['name']}")
                assert resp.status_code == 200
                validate(resp)
                assert resp.json() == item


def test_items_have_the_real_shape(mock: MockOpenChoreo) -> None:
    with httpx.Client(base_url=mock.url) as client:
        ns = client.get("/api/v1/namespaces/default").json()
        assert set(ns) == {"metadata", "status"}  # no apiVersion/kind on namespaces
        comp = client.get("/api/v1/namespaces/default/components/api-service").json()
        assert comp["apiVersion"] == "openchoreo.dev/v1alpha1" and comp["kind"] == "Component"
        assert set(comp["metadata"]) <= {
            "name",
            "namespace",
            "uid",
            "labels",
            "annotations",
            "creationTimestamp",
        }
        res = walk(client, "/api/v1/namespaces/default/resources")[0].json()["items"]
        for path in list_paths([n for n in mock.world.namespaces() if n != "default"][:1]):
            for item in walk(client, path, 100)[0].json()["items"]:
                assert "resourceVersion" not in item["metadata"]
        assert all(r["kind"] == "Resource" for r in res)


@pytest.mark.parametrize(
    ("path", "kind"),
    [(f"/api/v1/namespaces/default/{c}/nope", k.kind) for c, k in KINDS.items() if k.scope == "namespace"]
    + [(f"/api/v1/{c}/nope", k.kind) for c, k in KINDS.items() if k.scope == "cluster"]
    + [("/api/v1/namespaces/nope", "Namespace"), ("/api/v1/namespaces/kube-system", "Namespace")],
)
def test_get_unknown_is_404_not_found(mock: MockOpenChoreo, path: str, kind: str) -> None:
    resp = httpx.get(mock.url + path)
    assert resp.status_code == 404
    assert resp.content == f'{{"code":"NOT_FOUND","error":"{kind} not found"}}\n'.encode()
    validate(resp)


def test_error_responses(mock: MockOpenChoreo) -> None:
    with httpx.Client(base_url=mock.url) as client:
        bad_selector = client.get("/api/v1/namespaces/default/components", params={"labelSelector": "a b c"})
        assert bad_selector.status_code == 400
        assert bad_selector.json()["code"] == "BAD_REQUEST"
        assert bad_selector.json()["error"].startswith("invalid label selector: ")
        validate(bad_selector)

        unknown_project = client.get("/api/v1/namespaces/default/components", params={"project": "nope"})
        assert unknown_project.content == b'{"code":"NOT_FOUND","error":"Project not found"}\n'
        validate(unknown_project)

        bad_cursor = client.get("/api/v1/namespaces/default/components", params={"cursor": "!!garbage"})
        # Real server: 500 (the spec suggests 400 for bad input); the body is a valid ErrorResponse.
        assert bad_cursor.status_code == 500
        assert bad_cursor.content == b'{"code":"INTERNAL_ERROR","error":"Internal server error"}\n'
        validate(bad_cursor)

        bad_limit = client.get("/api/v1/namespaces/default/components", params={"limit": "abc"})
        # Real server: text/plain from the generated wrapper, not the spec's JSON BadRequest.
        assert bad_limit.status_code == 400
        assert bad_limit.headers["content-type"].startswith("text/plain")
        assert bad_limit.text.startswith("Invalid format for parameter limit: ")

        unknown_ns = client.get("/api/v1/namespaces/nope/components")
        # Real server: 200 empty list, not the 404 some list operations declare.
        assert unknown_ns.status_code == 200
        assert unknown_ns.json() == {"items": [], "pagination": {}}
        validate(unknown_ns)

        for path in (
            "/api/v1/nope",
            "/api/v1/namespaces/default/nope",
            "/nope",
            "/api/v1/namespaces/default/",
        ):
            resp = client.get(path)
            assert (resp.status_code, resp.text) == (404, "404 page not found\n"), path
            assert resp.headers["content-type"].startswith("text/plain")
        assert client.post("/api/v1/namespaces").status_code == 405


def test_public_endpoints_validate(mock: MockOpenChoreo) -> None:
    with httpx.Client(base_url=mock.url) as client:
        for path in (
            "/health",
            "/ready",
            "/version",
            "/.well-known/oauth-protected-resource",
            "/openapi.json",
        ):
            resp = client.get(path)
            assert resp.status_code == 200
            validate(resp)
        assert client.get("/health").text == "OK"
        assert client.get("/ready").text == "Ready"
        meta = client.get("/.well-known/oauth-protected-resource").json()
        assert meta["openchoreo_security_enabled"] is False
        assert meta["authorization_servers"] == [mock.url]


def test_401_bodies_are_the_middleware_shape(mock_openchoreo_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    mock = mock_openchoreo_factory(auth=True)
    resp = httpx.get(mock.url + "/api/v1/namespaces")
    # Real server: {"error": CODE, "message"} from the JWT middleware, not the spec's ErrorResponse.
    assert resp.status_code == 401
    assert resp.content == b'{"error":"MISSING_TOKEN","message":"missing or invalid authentication token"}\n'
    assert "www-authenticate" not in resp.headers
    with pytest.raises(Exception):  # noqa: B017 - the spec's ErrorResponse requires "code"
        validate(resp)


SCHEMA_COLLECTIONS = sorted(scaffolder.SCHEMA_COLLECTIONS)


def test_every_type_schema_validates(mock: MockOpenChoreo) -> None:
    """``GET .../{name}/schema`` of every type, trait and workflow answers a ``SchemaResponse``."""
    with httpx.Client(base_url=mock.url) as client:
        seen = 0
        for collection in SCHEMA_COLLECTIONS:
            info = KINDS[collection]
            bases = (
                [f"/api/v1/{collection}"] if info.scope == "cluster" else [f"/api/v1/namespaces/default/{collection}"]
            )
            for base in bases:
                for item in walk(client, base, 100)[-1].json()["items"]:
                    resp = client.get(f"{base}/{item['metadata']['name']}/schema")
                    assert resp.status_code == 200, (base, resp.text)
                    validate(resp)
                    inline = (item["spec"].get("parameters") or {}).get("openAPIV3Schema")
                    assert resp.json() == (inline or {"type": "object", "properties": {}})
                    seen += 1
        assert seen >= 20
        assert client.get("/api/v1/namespaces/default/components/api-service/schema").status_code == 404


@pytest.mark.parametrize("collection", SCHEMA_COLLECTIONS)
def test_schema_of_an_unknown_type_is_404(mock: MockOpenChoreo, collection: str) -> None:
    info = KINDS[collection]
    base = f"/api/v1/{collection}" if info.scope == "cluster" else f"/api/v1/namespaces/default/{collection}"
    resp = httpx.get(f"{mock.url}{base}/nope/schema")
    assert resp.status_code == 404
    assert resp.content == f'{{"code":"NOT_FOUND","error":"{info.kind} not found"}}\n'.encode()
    validate(resp)


def test_scaffolder_showcase(mock_openchoreo_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Types with a hand-written template (served by the mock), and one whose /schema fails (500)."""
    mock = mock_openchoreo_factory(namespaces=0)
    mock.add_scaffolder_showcase("default")
    with httpx.Client(base_url=mock.url) as client:
        failing = client.get("/api/v1/namespaces/default/resourcetypes/legacy-queue/schema")
        assert failing.content == b'{"code":"INTERNAL_ERROR","error":"Internal server error"}\n'
        validate(failing)
        annotated = [
            client.get("/api/v1/namespaces/default/componenttypes/custom-service").json(),
            client.get("/api/v1/clustercomponenttypes/custom-batch").json(),
        ]
        for body in annotated:
            url = body["metadata"]["annotations"][scaffolder.TEMPLATE_URL]
            assert url.startswith(mock.url + scaffolder.TEMPLATES_PATH)
            served = httpx.get(url)
            assert served.status_code == 200 and served.headers["content-type"].startswith("application/yaml")
            documents = list(yaml.safe_load_all(served.text))
            assert [d["kind"] for d in documents] == ["Location", "Template"]
        assert client.get(scaffolder.TEMPLATES_PATH + "/nope.yaml").status_code == 404
