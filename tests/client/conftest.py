"""Fixtures of the client tests (the mock API fixtures are re-exported here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from client_helpers import FakeClock, Sleeps

from openchoreo_sync.testing.mockapi_fixtures import mock_openchoreo, mock_openchoreo_factory

__all__ = ["mock_openchoreo", "mock_openchoreo_factory"]


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself (so it is its own CA bundle)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
