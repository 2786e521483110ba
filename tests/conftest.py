"""Suite-wide fixtures.

``no_canary_in_output`` (autouse): a fixed set of canary secrets is used as the client secret, the
server token and the PostgreSQL password in the safety tests (auth-on runs, ``check``, ``status``,
token endpoint failures, 401s). A test whose captured stdout, stderr or log contains any of them
fails, so a secret that leaks into any output is caught wherever it happens.
"""

from __future__ import annotations

import pytest

CANARY_CLIENT_SECRET = "canary-client-secret-Zq7Xw3Lk9Pv2"
CANARY_SERVER_TOKEN = "canary-server-token-Hb4Nm8Rt1Ys6"
CANARY_PG_PASSWORD = "canary-pg-password-Jd5Fc2Ve7Ua0"
CANARY_EVENTS_TOKEN = "canary-events-token-Wg3Kp6Qs9Ta1"
CANARIES: tuple[str, ...] = (
    CANARY_CLIENT_SECRET,
    CANARY_SERVER_TOKEN,
    CANARY_PG_PASSWORD,
    CANARY_EVENTS_TOKEN,
)


def leaked_canaries(text: str) -> list[str]:
    """The canaries that occur in ``text``."""
    return [canary for canary in CANARIES if canary in text]


@pytest.fixture
def canaries() -> dict[str, str]:
    """The canary secrets, for tests that put them into configs, env and mocks."""
    return {
        "client_secret": CANARY_CLIENT_SECRET,
        "server_token": CANARY_SERVER_TOKEN,
        "pg_password": CANARY_PG_PASSWORD,
        "events_token": CANARY_EVENTS_TOKEN,
    }


@pytest.fixture(autouse=True)
def no_canary_in_output(request: pytest.FixtureRequest):
    """Fail the test when its captured stdout/stderr/log (setup and call) contains a canary secret."""
    yield
    sections = getattr(request.node, "_report_sections", [])
    leaks = [
        f"{when} {key}: {', '.join(found)}" for when, key, content in sections if (found := leaked_canaries(content))
    ]
    if leaks:
        pytest.fail("a canary secret reached captured output: " + "; ".join(leaks), pytrace=False)
