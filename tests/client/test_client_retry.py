"""Retries with backoff against the mock API's injected faults."""

from __future__ import annotations

import time

import pytest
from client_helpers import Sleeps, make_config

from openchoreo_sync.client import ApiError, OpenChoreoClient
from openchoreo_sync.mockapi import MockOpenChoreo

NS = "/api/v1/namespaces"


async def test_503_with_retry_after_is_retried_after_that_delay(
    mock_openchoreo: MockOpenChoreo, sleeps: Sleeps
) -> None:
    mock_openchoreo.faults.fail(r"/namespaces$", status=503, retry_after=7, times=2)
    async with OpenChoreoClient(make_config(mock_openchoreo.url), sleep=sleeps) as client:
        items = await client.list_all(NS, what="namespaces")
    assert items
    assert sleeps.delays == [7.0, 7.0]
    assert client.stats.requests == 3 and client.stats.retries == 2
    assert mock_openchoreo.stats.count(NS) == 3


async def test_retry_after_is_capped(mock_openchoreo: MockOpenChoreo, sleeps: Sleeps) -> None:
    mock_openchoreo.faults.fail(r"/namespaces$", status=429, retry_after=3600, times=1)
    async with OpenChoreoClient(make_config(mock_openchoreo.url), sleep=sleeps) as client:
        await client.list_all(NS, what="namespaces")
    assert sleeps.delays == [30.0]


async def test_retries_are_bounded_and_the_error_says_so(mock_openchoreo: MockOpenChoreo, sleeps: Sleeps) -> None:
    mock_openchoreo.faults.fail(r"/namespaces$", status=502)
    config = make_config(mock_openchoreo.url, retries=3, backoff_base=0.5)
    async with OpenChoreoClient(config, sleep=sleeps) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(NS, what="namespaces")
    assert caught.value.status == 502
    assert "gave up after 4 attempts" in str(caught.value)
    assert client.stats.requests == 4 and mock_openchoreo.stats.count(NS) == 4
    # full jitter: each delay is drawn from [0, base * 2^(n-1)]
    assert len(sleeps.delays) == 3
    assert all(0 <= d <= 0.5 * 2**i for i, d in enumerate(sleeps.delays))


async def test_real_backoff_stays_within_bounds(mock_openchoreo: MockOpenChoreo) -> None:
    mock_openchoreo.faults.fail(r"/namespaces$", status=503, retry_after=0, times=2)
    started = time.monotonic()
    async with OpenChoreoClient(make_config(mock_openchoreo.url)) as client:
        await client.list_all(NS, what="namespaces")
    assert time.monotonic() - started < 2.0
    assert client.stats.requests == 3


async def test_connection_reset_is_retried(mock_openchoreo: MockOpenChoreo, sleeps: Sleeps) -> None:
    mock_openchoreo.faults.add(path=r"/namespaces$", action="reset", times=1)
    config = make_config(mock_openchoreo.url, backoff_base=0.2)
    async with OpenChoreoClient(config, sleep=sleeps) as client:
        assert await client.list_all(NS, what="namespaces")
    assert client.stats.requests == 2
    assert len(sleeps.delays) == 1 and 0 <= sleeps.delays[0] <= 0.2


async def test_timeouts_are_retried_then_reported(mock_openchoreo: MockOpenChoreo, sleeps: Sleeps) -> None:
    mock_openchoreo.faults.add(path=r"/namespaces$", action="timeout", hang_seconds=5)
    config = make_config(mock_openchoreo.url, timeout=0.3, retries=1)
    async with OpenChoreoClient(config, sleep=sleeps) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(NS, what="namespaces")
    assert caught.value.status is None
    assert str(caught.value) == "Failed to fetch namespaces: timed out after 0.3 s after 2 attempts"
    assert client.stats.requests == 2


async def test_500_and_4xx_are_not_retried(mock_openchoreo: MockOpenChoreo, sleeps: Sleeps) -> None:
    mock_openchoreo.faults.fail(r"/namespaces$", status=500, times=1)
    async with OpenChoreoClient(make_config(mock_openchoreo.url), sleep=sleeps) as client:
        with pytest.raises(ApiError):
            await client.list_all(NS, what="namespaces")
        assert await client.get(f"{NS}/nope", what="namespace nope") is None
    assert sleeps.delays == [] and client.stats.requests == 2


async def test_unreachable_api_fails_after_retries(sleeps: Sleeps) -> None:
    config = make_config("http://127.0.0.1:9", retries=2)  # discard port: nothing listens
    async with OpenChoreoClient(config, sleep=sleeps) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_all(NS, what="namespaces")
    assert caught.value.status is None
    assert str(caught.value).startswith(
        "Failed to fetch namespaces: connection failed (ConnectFailed: cannot connect to 127.0.0.1:9: Connection refused)"
    )
    assert str(caught.value).endswith("after 3 attempts")
    assert len(sleeps.delays) == 2
