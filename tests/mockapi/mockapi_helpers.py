"""Shared helpers for the mock API tests: the OpenAPI validator and page walking."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from openchoreo_sync.mockapi.kinds import CLUSTER, NAMESPACED

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "openchoreo-api.yaml"
SPEC_HOST = "http://localhost:8080"  # the spec's server URL; requests are re-based onto it


@cache
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


def validate(resp: httpx.Response) -> None:
    """Validate a real mock response against the spec (raises on mismatch)."""
    url = urlsplit(str(resp.request.url))
    request = MockRequest(SPEC_HOST, resp.request.method.lower(), url.path, args=dict(parse_qsl(url.query)))
    content_type = resp.headers.get("content-type", "").split(";")[0]
    response = MockResponse(resp.content, status_code=resp.status_code, content_type=content_type)
    openapi().validate_response(request, response)


def list_paths(namespaces: list[str]) -> list[str]:
    """Every list endpoint of openchoreo-api.md §6 for the given namespaces."""
    paths = ["/api/v1/namespaces"]
    paths += [f"/api/v1/namespaces/{ns}/{coll}" for ns in namespaces for coll in NAMESPACED]
    paths += [f"/api/v1/{coll}" for coll in CLUSTER]
    return paths


def walk(client: httpx.Client, path: str, limit: int | None = None, **params: Any) -> list[httpx.Response]:
    """Follow nextCursor to the end (bounded), returning every page's response."""
    pages: list[httpx.Response] = []
    query: dict[str, Any] = dict(params)
    if limit is not None:
        query["limit"] = limit
    for _ in range(10_000):
        resp = client.get(path, params=query)
        pages.append(resp)
        if resp.status_code != 200:
            return pages
        cursor = resp.json()["pagination"].get("nextCursor")
        if cursor is None:
            return pages
        query["cursor"] = cursor
    raise AssertionError(f"walk of {path} did not end")


def names(pages: list[httpx.Response]) -> list[str]:
    return [item["metadata"]["name"] for page in pages for item in page.json()["items"]]
