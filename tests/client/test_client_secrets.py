"""The client secret and access tokens never reach logs, exception text, tracebacks or reprs."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog
from client_helpers import Sleeps, make_config
from structlog.testing import capture_logs

from openchoreo_sync.client import ApiError, OpenChoreoClient, TokenError
from openchoreo_sync.errors import SyncError
from openchoreo_sync.testing.mockapi_fixtures import MockFactory

NS = "/api/v1/namespaces"
SECRET = "s3cr3t-CLIENT-secret-value-xyz"


@contextmanager
def real_structlog() -> Iterator[None]:
    """structlog's default console output at debug level, as an operator would see it."""
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.reset_defaults()


async def run_scenarios(mock_factory: MockFactory, sleeps: Sleeps) -> list[str]:
    """Success, token refresh, rejected token, retries and a bad secret; returns every text produced."""
    texts: list[str] = []
    mock = mock_factory(namespaces=1, projects=0, components=0, auth=True, client_secret=SECRET)
    config = make_config(mock.url, mock=mock, auth=True)
    texts.append(repr(config) + str(config.model_dump()))
    async with OpenChoreoClient(config, sleep=sleeps) as client:
        await client.list_all(NS, what="namespaces")
        mock.auth.revoke_all()
        await client.get(f"{NS}/default", what="namespace default")
        mock.faults.fail(r"/namespaces$", status=503, retry_after=0, times=1)
        await client.list_all(NS, what="namespaces")
        texts += [repr(client), repr(client.tokens), repr(client.stats), str(client.stats.as_dict())]
        mock.auth.token_lifetime = 0  # every token is refused from now on
        mock.auth.revoke_all()
        with pytest.raises(ApiError) as refused:
            await client.list_all(NS, what="namespaces")
    bad = make_config(mock.url, mock=mock, auth=True, secret=SECRET + "-wrong")
    async with OpenChoreoClient(bad, sleep=sleeps) as client:
        with pytest.raises(TokenError) as denied:
            await client.list_all(NS, what="namespaces")
    for caught in (refused.value, denied.value):
        assert isinstance(caught, SyncError)
        texts += [str(caught), repr(caught), "".join(traceback.format_exception(caught))]
    tokens = [h.split(" ", 1)[1] for h in mock.stats.auth_headers if h]
    assert len(set(tokens)) == 3  # first, after the key rollover, and the refused one
    texts.append("\n".join(tokens))  # sentinel: checked separately below
    return texts


def assert_clean(texts: list[str], tokens: list[str]) -> None:
    for text in texts:
        assert SECRET not in text
        for token in tokens:
            assert token not in text
            assert token.split(".")[2] not in text  # not even the signature part


async def test_no_secret_in_structlog_events_or_stdlib_logs(
    mock_openchoreo_factory: MockFactory, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        texts = await run_scenarios(mock_openchoreo_factory, sleeps)
    tokens = texts.pop().split("\n")
    assert any(e["event"] == "token rejected, fetching a new one" for e in events)
    assert any(e["event"] == "request retry" for e in events)
    assert any(r.name.startswith("httpx") for r in caplog.records)  # stdlib logs were captured
    logged = [repr(e) for e in events] + [caplog.text] + [repr(r.__dict__) for r in caplog.records]
    assert_clean(texts + logged, tokens)


async def test_no_secret_in_rendered_console_logs(
    mock_openchoreo_factory: MockFactory, sleeps: Sleeps, capsys: pytest.CaptureFixture[str]
) -> None:
    with real_structlog():
        texts = await run_scenarios(mock_openchoreo_factory, sleeps)
    tokens = texts.pop().split("\n")
    out = capsys.readouterr()
    assert "token fetched" in out.out + out.err
    assert_clean([*texts, out.out, out.err], tokens)
