"""The embedded catalog answers like a real Backstage catalog holding the same entities.

One small snapshot (the worked example's Domain/System/Component/API plus the other standard-kind
entities the mock produces, and one custom-looking Resource) is served twice: by our daemon from
its store, and by a real Backstage backend (``tests/support/backstage_backend.py``) that reads it
as YAML from a stdlib HTTP server on 127.0.0.1. The same queries must return the same entities.
Backstage computes relations and adds uid/etag/location annotations itself; comparisons use refs,
or strip what Backstage adds. Backstage is eventually consistent, so each comparison polls it
(bounded) until it agrees with our static answer.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_embedded_catalog_helpers import CATALOG

from openchoreo_sync.model import Entity, entity_ref
from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
from openchoreo_sync.store.sql import utcnow
from tests.support.backstage_backend import STANDARD_KINDS, BackstageBackend
from tests.support.backstage_fixtures import backstage_backend_factory

__all__ = ["backstage_backend_factory"]

pytestmark = pytest.mark.backstage

AGREE_TIMEOUT_S = 45.0
KINDS = ("Domain", "System", "Component", "API", "Resource")
NOT_LOCATION = [f"kind={k.lower()}" for k in KINDS]
BACKSTAGE_ADDED = (
    "backstage.io/managed-by-location",
    "backstage.io/managed-by-origin-location",
    "backstage.io/view-url",
    "backstage.io/edit-url",
)

CUSTOM: Entity = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Resource",
    "metadata": {
        "name": "development-env",
        "namespace": "default",
        "title": "Development (environment)",
        "annotations": {"openchoreo.io/environment": "development", "openchoreo.io/namespace": "default"},
        "labels": {"openchoreo.io/managed": "true"},
        "tags": ["openchoreo", "environment"],
    },
    "spec": {"type": "openchoreo-environment", "owner": "group:default/openchoreo-users", "dependsOn": []},
    "relations": [{"type": "ownedBy", "targetRef": "group:default/openchoreo-users"}],
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def yaml_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(directory, base URL) of a stdlib HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def strip(entity: dict[str, Any] | None) -> dict[str, Any] | None:
    """An entity without what either side adds on its own (uid, etag, location annotations, relations)."""
    if entity is None:
        return None
    metadata = {k: v for k, v in entity.get("metadata", {}).items() if k not in ("uid", "etag", "generation")}
    annotations = {k: v for k, v in metadata.get("annotations", {}).items() if k not in BACKSTAGE_ADDED}
    metadata["annotations"] = annotations
    metadata.setdefault("namespace", "default")
    return {**{k: v for k, v in entity.items() if k not in ("relations", "status")}, "metadata": metadata}


def refs(items: list[Any]) -> list[str | None]:
    return [entity_ref(e) if e else None for e in items if not e or e.get("kind", "") != "Location"]


class Both:
    """Ask our daemon and Backstage the same thing."""

    def __init__(self, ours: httpx.AsyncClient, backstage: BackstageBackend) -> None:
        self.ours = ours
        self.backstage = backstage

    async def mine(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.ours.request(method, f"{CATALOG}{path}", **kw)

    async def agree(self, method: str, path: str, shape: Any = None, **kw: Any) -> Any:
        """Our answer, once Backstage gives the same (``shape`` maps a JSON body to what is compared)."""
        shape = shape or (lambda body: body)
        mine = await self.mine(method, path, **kw)
        expected = (mine.status_code, shape(mine.json()))

        def theirs() -> bool:
            resp = self.backstage.request(method, f"/api/catalog{path}", **kw)
            return (resp.status_code, shape(resp.json())) == expected

        self.backstage.wait_for(
            theirs, AGREE_TIMEOUT_S, f"Backstage to answer {method} {path} {kw} like us: {expected}"
        )
        return expected[1]


async def test_same_answers_as_a_real_backstage(
    mock_openchoreo: Any,
    sync_harness_factory: Any,
    backstage_backend_factory: Any,
    yaml_server: Any,
    tmp_path: Path,
) -> None:
    source = sync_harness_factory(mock_openchoreo.url, state_dir=tmp_path / "source")
    assert (await source.run()).status == "ok"
    snapshot = [e for e in source.entities().values() if e["kind"] in KINDS] + [CUSTOM]
    assert {"component:default/api-service", "system:default/url-shortener", "domain:default/default"} <= {
        entity_ref(e) for e in snapshot
    }

    ours = sync_harness_factory(mock_openchoreo.url, state_dir=tmp_path / "ours")
    writes = []
    for entity in snapshot:
        body = json.dumps(entity, sort_keys=True)
        writes.append(
            EntityWrite(entity_ref(entity), entity, body, hashlib.sha1(body.encode()).hexdigest(), "c", "f", False)
        )
    ours.store.commit(Commit(RunRecord("compat", utcnow(), utcnow(), "ok"), writes=writes))

    root, base = yaml_server
    documents = [{k: v for k, v in e.items() if k not in ("relations", "status")} for e in snapshot]
    (root / "catalog.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    backstage = backstage_backend_factory(allow_kinds=list(STANDARD_KINDS))
    backstage.register_location(f"{base}/catalog.yaml")
    wanted = sorted(entity_ref(e) for e in snapshot)

    def ingested() -> bool:
        resp = backstage.request("POST", "/api/catalog/entities/by-refs", json={"entityRefs": wanted})
        return resp.status_code == 200 and all(resp.json()["items"])

    backstage.wait_for(ingested, AGREE_TIMEOUT_S, "Backstage to ingest the snapshot")

    async with httpx.AsyncClient(base_url=await ours.serve(), timeout=30) as client:
        both = Both(client, backstage)
        as_set = lambda body: sorted(r for r in refs(body) if r)  # noqa: E731
        filters: list[Any] = [
            "kind=domain",
            "kind=component,spec.system=url-shortener",
            "KIND=Component,Spec.System=URL-Shortener",
            ["kind=system", "kind=api"],
            "kind=system,kind=api,metadata.namespace=meadow-0",
            "spec.system",
            "kind=resource,spec.parameters.version",
            "relations.partOf=system:default/url-shortener",
            "relations.ownedBy=group:default/openchoreo-users",
            "relations.hasPart=component:default/api-service",
            "relations.providesApi=api:default/url-shortener-api-service-rest-api",
            "relations.apiProvidedBy=component:default/api-service",
            "metadata.annotations.openchoreo.io/project=url-shortener",
            "metadata.tags=POSTGRES",
            "spec.type=openchoreo-environment",
            "metadata.title=URL Shortener",
        ]
        for flt in filters:
            params = [("filter", f) for f in ([flt] if isinstance(flt, str) else flt)]
            got = await both.agree("GET", "/entities", as_set, params=params)
            assert got, f"{flt} matched nothing: not a useful comparison"

        projected = await both.agree(
            "GET",
            "/entities",
            params={
                "filter": "kind=component,spec.system=url-shortener",
                "fields": "kind,metadata.name,spec.type",
            },
        )
        assert projected == [
            {"kind": "Component", "metadata": {"name": "api-service"}, "spec": {"type": "deployment/service"}}
        ]

        facets = await both.agree(
            "GET",
            "/entity-facets",
            params=[("facet", "kind"), ("facet", "spec.type"), ("facet", "metadata.namespace")]
            + [("filter", f) for f in NOT_LOCATION],
        )
        assert {"value": "Component", "count": 17} in facets["facets"]["kind"]

        await both.agree("GET", "/entities/by-name/Component/default/api-service", strip)
        await both.agree(
            "GET",
            "/entities/by-name/component/default/nope",
            lambda b: b["error"]["name"] + b["error"]["message"],
        )

        by_refs = ["system:default/url-shortener", "component:default/nope", "COMPONENT:default/api-service"]
        await both.agree("POST", "/entities/by-refs", lambda b: refs(b["items"]), json={"entityRefs": by_refs})

        for offset in range(0, 20, 5):  # legacy paging: default order is by ref on both sides
            await both.agree(
                "GET", "/entities", refs, params={"filter": "kind=component", "limit": 5, "offset": offset}
            )
        await both.agree(
            "GET",
            "/entities",
            refs,
            params={"filter": "kind=component", "order": "desc:metadata.name", "limit": 6},
        )

        query = {"filter": "kind=component,kind=api", "orderField": "metadata.name,asc", "limit": 4}
        ours_pages = await walk_ours(both, query)
        assert len(ours_pages) > 2 and sum(len(p[1]) for p in ours_pages) == 22
        backstage.wait_for(
            lambda: walk_backstage(backstage, query) == ours_pages, AGREE_TIMEOUT_S, "same by-query pages"
        )


async def walk_ours(both: Both, params: dict[str, Any]) -> list[tuple[int, list[str | None]]]:
    """(totalItems, refs) per by-query page, following nextCursor."""
    pages = []
    current: dict[str, Any] = params
    for _ in range(50):
        body = (await both.mine("GET", "/entities/by-query", params=current)).json()
        pages.append((body["totalItems"], refs(body["items"])))
        if "nextCursor" not in body["pageInfo"]:
            break
        current = {"cursor": body["pageInfo"]["nextCursor"], "limit": params["limit"]}
    return pages


def walk_backstage(backstage: BackstageBackend, params: dict[str, Any]) -> list[tuple[int, list[str | None]]]:
    pages = []
    current: dict[str, Any] = params
    for _ in range(50):
        body = backstage.request("GET", "/api/catalog/entities/by-query", params=current).json()
        pages.append((body["totalItems"], refs(body["items"])))
        if "nextCursor" not in body["pageInfo"]:
            break
        current = {"cursor": body["pageInfo"]["nextCursor"], "limit": params["limit"]}
    return pages
