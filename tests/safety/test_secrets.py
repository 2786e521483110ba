"""Secrets given in config or env never reach any output.

The canaries (tests/conftest.py) are used as the OAuth client secret, the server token, the events
token and the PostgreSQL password, through the environment and literally. The autouse fixture
fails any test whose captured output holds one; subprocess output is printed here so it passes
the same check, and is asserted on directly as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml
from safety_helpers import SMALL, install_path_token_rejection

from openchoreo_sync.mockapi import MockOpenChoreo
from openchoreo_sync.testing.harness import SyncHarness

CLI = str(Path(sys.executable).parent / "openchoreo-sync")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
    # Printed so that the autouse canary check sees subprocess output too.
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    return result


def assert_clean(text: str, canaries: dict[str, str]) -> None:
    leaked = [name for name, value in canaries.items() if value in text]
    assert not leaked, f"secrets leaked: {leaked}"


@pytest.fixture
def auth_mock(canaries):
    with MockOpenChoreo(SMALL, auth=True, client_secret=canaries["client_secret"]) as mock:
        yield mock


def secret_config(mock: MockOpenChoreo, state: Path, *, via_env: bool) -> dict:
    secret = "${OC_CLIENT_SECRET}" if via_env else None
    return {
        "openchoreo": {
            "baseUrl": mock.url,
            "features": {"auth": {"enabled": True}},
            "auth": {"clientId": mock.client_id, "clientSecret": secret, "tokenUrl": mock.token_url},
            "server": {"token": "${OC_SERVER_TOKEN}"},
            "events": {"token": "${OC_EVENTS_TOKEN}"},
            "sqlite": {"path": str(state / "state.sqlite3")},
            "client": {"timeout": 2, "retries": 1, "backoffBase": 0.01},
        }
    }


@pytest.fixture
def secret_env(monkeypatch, canaries):
    env = {
        "OC_CLIENT_SECRET": canaries["client_secret"],
        "OC_SERVER_TOKEN": canaries["server_token"],
        "OC_EVENTS_TOKEN": canaries["events_token"],
        "OC_PG_PASSWORD": canaries["pg_password"],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


async def test_auth_runs_401s_and_token_failures_never_print_a_secret(
    auth_mock, tmp_path, canaries, secret_env, capsys
):
    config = secret_config(auth_mock, tmp_path, via_env=True)
    reject = install_path_token_rejection(auth_mock)
    harness = SyncHarness(auth_mock.url, tmp_path, config)
    try:
        assert (await harness.run()).status == "ok"
        # Key rollover, then a path that keeps answering INVALID_TOKEN (refresh, retry, give up).
        auth_mock.auth.revoke_all()
        reject("^/api/v1/namespaces/[^/]+/traits$")
        partial = await harness.run()
        reject(None)
        assert partial.status == "partial"
        assert "INVALID_TOKEN" in json.dumps(partial.summary)
        # The token endpoint refuses the client (the IdP rotated the secret).
        auth_mock.auth.client_secret = "rotated-at-the-idp"
        auth_mock.auth.revoke_all()
        failed = await harness.run()
        assert failed.status == "failed", failed.summary
        assert "invalid_client" in json.dumps(failed.summary) or "401" in json.dumps(failed.summary)
        served = await harness.serve()
        async with httpx.AsyncClient() as http:
            denied = await http.get(f"{served}/api/catalog/entities", headers={"Authorization": "Bearer nope"})
            assert denied.status_code == 401
            assert_clean(denied.text, canaries)
        records = json.dumps([r.__dict__ for r in harness.store.recent_runs(10)], default=str)
        assert_clean(records, canaries)
        assert_clean(repr(harness.runtime.config), canaries)
    finally:
        await harness.close()
    out = capsys.readouterr()
    print(out.out)
    print(out.err, file=sys.stderr)
    assert "token" in out.out  # the runs did log about tokens: the check below is not vacuous
    assert_clean(out.out + out.err, canaries)


def test_check_status_and_once_never_print_a_secret(auth_mock, tmp_path, canaries, secret_env):
    literal = secret_config(auth_mock, tmp_path, via_env=False)
    literal["openchoreo"]["auth"]["clientSecret"] = canaries["client_secret"]
    literal["openchoreo"]["server"]["token"] = canaries["server_token"]
    path = tmp_path / "literal.yaml"
    path.write_text(yaml.safe_dump(literal))
    env_path = tmp_path / "env.yaml"
    env_path.write_text(yaml.safe_dump(secret_config(auth_mock, tmp_path, via_env=True)))

    outputs = []
    for config in (path, env_path):
        checked = run_cli("check", "--config", str(config))
        assert checked.returncode == 0, checked.stderr
        assert "***" in checked.stdout
        probed = run_cli("check", "--probe", "--config", str(config))
        once = run_cli("once", "--config", str(config))
        assert once.returncode == 0, once.stderr
        status = run_cli("status", "--config", str(config))
        status_json = run_cli("status", "--json", "--config", str(config))
        outputs += [checked, probed, once, status, status_json]

    # Error paths: a wrong secret at the token endpoint, and an unreachable PostgreSQL with a password.
    auth_mock.auth.client_secret = "something-else"
    failing = run_cli("once", "--config", str(path))
    assert failing.returncode != 0
    pg = tmp_path / "pg.yaml"
    pg_config = secret_config(auth_mock, tmp_path, via_env=True)
    pg_config["openchoreo"]["store"] = "postgres"
    pg_config["openchoreo"]["postgres"] = {
        "dsn": "postgresql://sync:${OC_PG_PASSWORD}@127.0.0.1:1/catalog?connect_timeout=2"
    }
    pg.write_text(yaml.safe_dump(pg_config))
    pg_status = run_cli("status", "--config", str(pg))
    assert pg_status.returncode != 0
    pg_check = run_cli("check", "--config", str(pg))
    assert pg_check.returncode == 0
    bad = tmp_path / "bad.yaml"
    bad_config = secret_config(auth_mock, tmp_path, via_env=True)
    bad_config["openchoreo"]["safety"] = {"maxDeletionRatio": canaries["pg_password"]}
    bad_config["openchoreo"]["auth"]["clientSecret"] = {"nested": canaries["client_secret"]}
    bad.write_text(yaml.safe_dump(bad_config))
    invalid = run_cli("check", "--config", str(bad))
    assert invalid.returncode != 0
    outputs += [failing, pg_status, pg_check, invalid]
    for result in outputs:
        assert_clean(result.stdout + result.stderr, canaries)


def test_the_canary_fixture_fails_a_leaking_test(tmp_path):
    """The autouse fixture itself can fail: a test printing a canary is reported failed."""
    here = Path(__file__).resolve().parents[1]
    (tmp_path / "conftest.py").write_text((here / "conftest.py").read_text())
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            """
            import logging
            from conftest import CANARY_CLIENT_SECRET

            def test_prints(capsys):
                print("token=" + CANARY_CLIENT_SECRET)

            def test_logs():
                logging.getLogger("x").warning("dsn %s", CANARY_CLIENT_SECRET[::-1][::-1])

            def test_clean():
                print("nothing to see")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    summary = result.stdout.splitlines()[-1] if result.stdout else result.stderr
    assert result.returncode != 0, result.stdout
    # test_prints and test_logs error at teardown; test_clean is untouched.
    assert "2 errors" in summary, summary
    assert "ERROR at teardown of test_prints" in result.stdout
    assert "ERROR at teardown of test_logs" in result.stdout
    assert "test_clean" not in result.stdout.split("short test summary")[-1]
    assert "a canary secret reached captured output" in result.stdout
