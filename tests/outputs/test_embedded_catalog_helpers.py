"""Shared fixtures and helpers of the embedded catalog tests (no tests here).

Each test talks real HTTP to the daemon's server that ``SyncHarness.serve()`` starts on an
ephemeral 127.0.0.1 port, after a real run against the mock OpenChoreo API.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.model import Entity, entity_ref
from openchoreo_sync.testing.harness import SyncHarness

CATALOG = "/api/catalog"
TOKEN = "embedded-catalog-test-token"


@dataclass
class Served:
    """A synced harness whose HTTP server is up, plus a client pointed at it."""

    harness: SyncHarness
    mock: MockOpenChoreo
    client: httpx.AsyncClient

    def snapshot(self) -> dict[str, Entity]:
        """The committed snapshot straight from the store (the oracle the API is checked against)."""
        return self.harness.entities()

    async def get(self, path: str, params: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.get(f"{CATALOG}{path}", params=params, **kw)

    async def ok(self, path: str, params: Any = None) -> Any:
        resp = await self.get(path, params)
        assert resp.status_code == 200, resp.text
        return resp.json()


def refs_of(entities: Iterable[Entity | None]) -> list[str | None]:
    return [entity_ref(e) if e is not None else None for e in entities]


def expect_error(resp: httpx.Response, status: int, name: str, message: str | None = None) -> dict[str, Any]:
    """Assert Backstage's error shape ``{error: {name, message}, request, response: {statusCode}}``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["name"] == name, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if message is not None:
        assert body["error"]["message"] == message, body
    assert body["response"] == {"statusCode": status}
    assert body["request"]["method"] == resp.request.method
    assert body["request"]["url"].startswith(resp.request.url.path)
    return body


def add_components(mock: MockOpenChoreo, names: Iterable[str], project: str = "url-shortener") -> None:
    """Create components in ``default`` modelled on the worked example's api-service."""
    template = mock.world.get("components", "default", "api-service")
    assert template is not None
    for name in names:
        body = copy.deepcopy(template)
        body["metadata"] = {
            "name": name,
            "labels": {"openchoreo.dev/project": project, "openchoreo.dev/name": name},
        }
        mock.world.put("components", "default", body)


async def serve(
    mock: MockOpenChoreo, factory: Any, overrides: dict[str, Any] | None = None, **kw: Any
) -> tuple[SyncHarness, str]:
    harness = factory(mock.url, overrides, **kw)
    result = await harness.run()
    assert result.status == "ok", result.summary
    return harness, await harness.serve()


@pytest_asyncio.fixture
async def served(mock_openchoreo: MockOpenChoreo, sync_harness_factory: Any) -> AsyncIterator[Served]:
    """The default sample world (worked example included), synced once and served, auth off."""
    harness, url = await serve(mock_openchoreo, sync_harness_factory)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Served(harness, mock_openchoreo, client)
