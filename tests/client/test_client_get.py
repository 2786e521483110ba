"""``get``: one object, None for a missing object, an error for a missing route."""

from __future__ import annotations

import pytest
from client_helpers import make_config

from openchoreo_sync.client import ApiError, OpenChoreoClient
from openchoreo_sync.mockapi import MockOpenChoreo


async def test_get_returns_the_object(mock_openchoreo: MockOpenChoreo) -> None:
    async with OpenChoreoClient(make_config(mock_openchoreo.url)) as client:
        obj = await client.get("/api/v1/namespaces/default", what="namespace default")
    assert obj is not None and obj["metadata"]["name"] == "default"
    assert client.stats.by_path == {"/api/v1/namespaces/{namespace}": 1}


async def test_missing_object_is_none(mock_openchoreo: MockOpenChoreo) -> None:
    async with OpenChoreoClient(make_config(mock_openchoreo.url)) as client:
        assert await client.get("/api/v1/namespaces/default/projects/nope", what="project nope") is None


async def test_unknown_route_is_an_error_not_a_missing_object(mock_openchoreo: MockOpenChoreo) -> None:
    async with OpenChoreoClient(make_config(mock_openchoreo.url)) as client:
        with pytest.raises(ApiError) as caught:
            await client.get("/api/v2/things/x", what="thing x")
    assert caught.value.status == 404 and caught.value.code is None
    assert "check that openchoreo.baseUrl is the API root" in str(caught.value)


async def test_project_filter_404_is_an_error_for_lists(mock_openchoreo: MockOpenChoreo) -> None:
    async with OpenChoreoClient(make_config(mock_openchoreo.url)) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(
                "/api/v1/namespaces/default/components", {"project": "nope"}, what="components of nope"
            )
    assert str(caught.value) == "Failed to fetch components of nope: 404 Not Found - Project not found (NOT_FOUND)"
