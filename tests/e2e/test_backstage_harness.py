"""End-to-end checks of the Backstage harness against a real Backstage catalog.

Serves catalog YAML from a local stdlib HTTP server on 127.0.0.1, registers it as a url location
and watches what the real catalog does with it: relations, refresh, orphan deletion, kind rules.
Timings are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import functools
import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.backstage_backend import BackstageBackend, BackstageError, relation_targets

pytestmark = pytest.mark.backstage

INGEST_TIMEOUT_S = 30.0
REFRESH_TIMEOUT_S = 30.0
ORPHAN_TIMEOUT_S = 60.0  # orphan cleanup runs on a fixed 30 s cycle; measured 20-37 s


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class FileServer:
    """Serves a directory over HTTP on 127.0.0.1 from a background thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def write(self, name: str, docs: list[dict[str, Any]]) -> str:
        (self.root / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return self.url(name)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    with FileServer(tmp_path) as server:
        yield server


def _timing(label: str, seconds: float) -> None:
    print(f"[backstage timing] {label}: {seconds:.2f} s")


def _catalog(sfx: str, *, with_api: bool = True, lifecycle: str = "production") -> list[dict[str, Any]]:
    owner = f"group:default/team-{sfx}"
    component_spec: dict[str, Any] = {
        "type": "service",
        "lifecycle": lifecycle,
        "owner": owner,
        "system": f"shop-{sfx}",
    }
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Domain",
            "metadata": {"name": f"commerce-{sfx}"},
            "spec": {"owner": owner},
        },
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "System",
            "metadata": {"name": f"shop-{sfx}"},
            "spec": {"owner": owner, "domain": f"commerce-{sfx}"},
        },
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": f"cart-{sfx}", "description": "The shopping cart"},
            "spec": component_spec,
        },
    ]
    if with_api:
        component_spec["providesApis"] = [f"cart-api-{sfx}"]
        docs.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "API",
                "metadata": {"name": f"cart-api-{sfx}"},
                "spec": {
                    "type": "openapi",
                    "lifecycle": "production",
                    "owner": owner,
                    "system": f"shop-{sfx}",
                    "definition": "openapi: 3.0.0\ninfo: {title: cart, version: 1.0.0}\npaths: {}\n",
                },
            }
        )
    return docs


def test_static_token_is_required(backstage_backend: BackstageBackend) -> None:
    bs = backstage_backend
    anonymous = httpx.get(f"{bs.url}/api/catalog/entities", timeout=10)
    assert anonymous.status_code == 401, anonymous.text
    wrong = httpx.get(f"{bs.url}/api/catalog/entities", headers={"Authorization": "Bearer wrong-token-xyz"}, timeout=10)
    assert wrong.status_code == 401, wrong.text
    assert bs.request("GET", "/api/catalog/entities").status_code == 200
    _timing("install.sh (this session)", bs.install_seconds or 0.0)
    _timing("startup until catalog answers 200", bs.startup_seconds or 0.0)


def test_wait_for_times_out_with_clear_message(backstage_backend: BackstageBackend) -> None:
    with pytest.raises(BackstageError, match=r"timed out after 0\.5 s waiting for the impossible"):
        backstage_backend.wait_for(lambda: None, timeout=0.5, what="the impossible")
    assert backstage_backend.wait_for(lambda: 42, timeout=1, what="a constant") == 42


def test_ingest_relations_refresh_and_orphan_delete(
    backstage_backend: BackstageBackend, file_server: FileServer
) -> None:
    bs = backstage_backend
    sfx = uuid.uuid4().hex[:8]
    comp, system, domain, api = f"cart-{sfx}", f"shop-{sfx}", f"commerce-{sfx}", f"cart-api-{sfx}"
    owner = f"group:default/team-{sfx}"
    target = file_server.write("catalog.yaml", _catalog(sfx))

    # --- register and ingest, with Backstage-computed relations
    t0 = time.monotonic()
    registered = bs.register_location(target)
    assert registered["location"]["target"] == target
    location_id = registered["location"]["id"]
    again = bs.register_location(target)  # idempotent: 409 resolved via GET /locations
    assert again["location"]["id"] == location_id
    assert again["entityRef"] == registered["entityRef"]
    try:

        def relations_complete() -> bool:
            c = bs.entity_by_name("component", "default", comp)
            s = bs.entity_by_name("system", "default", system)
            d = bs.entity_by_name("domain", "default", domain)
            a = bs.entity_by_name("api", "default", api)
            return (
                f"system:default/{system}" in relation_targets(c, "partOf")
                and owner in relation_targets(c, "ownedBy")
                and f"api:default/{api}" in relation_targets(c, "providesApi")
                and {f"component:default/{comp}", f"api:default/{api}"} <= relation_targets(s, "hasPart")
                and f"domain:default/{domain}" in relation_targets(s, "partOf")
                and f"system:default/{system}" in relation_targets(d, "hasPart")
                and f"component:default/{comp}" in relation_targets(a, "apiProvidedBy")
            )

        bs.wait_for(lambda: bs.entity_by_name("component", "default", comp), INGEST_TIMEOUT_S, "ingest")
        _timing("register -> component visible", time.monotonic() - t0)
        bs.wait_for(relations_complete, INGEST_TIMEOUT_S, "all computed relations")
        _timing("register -> all relations visible", time.monotonic() - t0)

        component = bs.entity_by_name("component", "default", comp)
        assert component is not None
        annotations = component["metadata"]["annotations"]
        assert annotations["backstage.io/managed-by-origin-location"] == f"url:{target}"
        assert relation_targets(component, "ownedBy") == {owner}
        by_filter = bs.entities(f"kind=component,spec.system={system}")
        assert [e["metadata"]["name"] for e in by_filter] == [comp]
        either = bs.entities([f"kind=component,metadata.name={comp}", f"kind=api,metadata.name={api}"])
        assert sorted(e["kind"] for e in either) == ["API", "Component"]

        # --- change the file + refresh the location: the change shows up
        file_server.write("catalog.yaml", _catalog(sfx, lifecycle="experimental"))
        t1 = time.monotonic()
        bs.refresh(registered["entityRef"])
        bs.wait_for(
            lambda: (
                (bs.entity_by_name("component", "default", comp) or {}).get("spec", {}).get("lifecycle")
                == "experimental"
            ),
            REFRESH_TIMEOUT_S,
            "changed lifecycle after refresh",
        )
        _timing("change + refresh -> change visible", time.monotonic() - t1)

        # --- remove the API from the file: orphan deletion removes it
        file_server.write("catalog.yaml", _catalog(sfx, with_api=False, lifecycle="experimental"))
        t2 = time.monotonic()
        bs.refresh(registered["entityRef"])

        def provides_api_gone() -> bool:
            c = bs.entity_by_name("component", "default", comp)
            return c is not None and not relation_targets(c, "providesApi")

        bs.wait_for(provides_api_gone, REFRESH_TIMEOUT_S, "providesApi relation gone from the component")
        bs.wait_for(lambda: bs.entity_by_name("api", "default", api) is None, ORPHAN_TIMEOUT_S, "orphaned API deleted")
        _timing("entity removed from file -> deleted (orphan cleanup)", time.monotonic() - t2)
        assert bs.entity_by_name("component", "default", comp) is not None
        assert bs.entity_by_name("system", "default", system) is not None
    finally:
        bs.unregister_location(location_id)

    # --- unregistering removes everything of that location at once
    bs.wait_for(lambda: bs.entity_by_name("component", "default", comp) is None, 10, "entities gone after unregister")
    assert all(loc["id"] != location_id for loc in bs.locations())


def test_disallowed_kind_rejects_whole_file(backstage_backend_factory: Any, file_server: FileServer) -> None:
    t0 = time.monotonic()
    bs = backstage_backend_factory(allow_kinds=["Component", "API", "Location"])
    _timing("second backend (custom rules) startup", time.monotonic() - t0)
    sfx = uuid.uuid4().hex[:8]
    owner = f"group:default/team-{sfx}"

    def component(name: str) -> dict[str, Any]:
        return {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name},
            "spec": {"type": "service", "lifecycle": "production", "owner": owner},
        }

    mixed = file_server.write(
        "mixed.yaml",
        [
            component(f"allowed-{sfx}"),
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "System",
                "metadata": {"name": f"forbidden-{sfx}"},
                "spec": {"owner": owner},
            },
        ],
    )
    clean = file_server.write("clean.yaml", [component(f"control-{sfx}")])

    bs.register_location(mixed)
    bs.wait_for(
        lambda: f"system:default/forbidden-{sfx}" in bs.log_text() and "is not of an allowed kind" in bs.log_text(),
        INGEST_TIMEOUT_S,
        "'is not of an allowed kind' in the log",
    )
    # Positive control: the same backend ingests an allowed-only file, so the absence below is the
    # rule at work and not a slow or broken catalog.
    bs.register_location(clean)
    bs.wait_for(
        lambda: bs.entity_by_name("component", "default", f"control-{sfx}"),
        INGEST_TIMEOUT_S,
        "control component from the allowed-only file",
    )
    log = bs.log_text()
    rejected = [line for line in log.splitlines() if "is not of an allowed kind" in line]
    assert any(f"system:default/forbidden-{sfx}" in line and f"url:{mixed}" in line for line in rejected)
    # The whole file is rejected: the allowed sibling component is absent too.
    assert bs.entity_by_name("component", "default", f"allowed-{sfx}") is None
    assert bs.entity_by_name("system", "default", f"forbidden-{sfx}") is None
