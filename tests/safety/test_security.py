"""Security: constant-time token checks and their 401 shapes, loopback bind by default, safe YAML,
and OpenChoreo text treated as data (never templated, substituted or deserialized)."""

from __future__ import annotations

import ast
import hmac
import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from safety_helpers import FAST_CLIENT, SMALL

from openchoreo_sync import server as server_module
from openchoreo_sync.config import load_config
from openchoreo_sync.daemon import Daemon
from openchoreo_sync.errors import ConfigError
from openchoreo_sync.mockapi import MockOpenChoreo, build_world
from openchoreo_sync.runtime import open_runtime
from openchoreo_sync.testing.harness import SyncHarness

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "openchoreo-sync")
NS = build_world(SMALL).namespaces()[0]


@pytest.fixture
def mock():
    with MockOpenChoreo(SMALL) as m:
        yield m


# --- the HTTP API token -------------------------------------------------------------------------


async def test_server_token_is_compared_in_constant_time_and_401s_have_backstage_shape(
    mock, tmp_path, canaries, monkeypatch
):
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(server_module.hmac, "compare_digest", spy)
    token = canaries["server_token"]
    overrides = {**FAST_CLIENT, "openchoreo": {**FAST_CLIENT["openchoreo"], "server": {"token": token}}}
    harness = SyncHarness(mock.url, tmp_path, overrides)
    try:
        assert (await harness.run()).status == "ok"
        url = await harness.serve()
        entities = f"{url}/api/catalog/entities"
        async with httpx.AsyncClient() as http:
            shapes = {}
            for label, headers in {
                "missing": {},
                "wrong": {"Authorization": "Bearer not-the-token"},
                "prefix": {"Authorization": "Bearer " + token[:-1]},
                "scheme": {"Authorization": "Basic " + token},
                "empty": {"Authorization": "Bearer"},
            }.items():
                response = await http.get(entities, headers=headers)
                assert response.status_code == 401, (label, response.text)
                shapes[label] = response.json()
            ok = await http.get(entities, headers={"Authorization": f"Bearer {token}"})
            lower = await http.get(entities, headers={"Authorization": f"bearer {token}"})
            health = await http.get(f"{url}/healthz")
        for label, body in shapes.items():
            assert body["error"]["name"] == "AuthenticationError", body
            assert body["response"] == {"statusCode": 401}
            assert body["request"] == {"method": "GET", "url": "/api/catalog/entities"}
            expected = "Missing credentials" if label == "missing" else "Invalid credentials"
            assert body["error"]["message"] == expected, (label, body)
            assert token not in json.dumps(body)
        assert ok.status_code == 200 and lower.status_code == 200
        assert health.status_code == 200
        # Every token check went through hmac.compare_digest (bytes, so length leaks nothing else).
        assert compared and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in compared)
        assert (b"not-the-token", token.encode()) in compared
    finally:
        await harness.close()


def test_token_matches_needs_the_whole_token():
    match = server_module.token_matches
    assert match("Bearer s3cret", "s3cret")
    assert match("bearer   s3cret  ", "s3cret")
    for header in (
        None,
        "",
        "s3cret",
        "Bearer",
        "Bearer s3cre",
        "Bearer s3cretX",
        "Token s3cret",
        "Bearer S3CRET",
    ):
        assert not match(header, "s3cret"), header


# --- bind address -------------------------------------------------------------------------------


async def test_the_daemon_binds_loopback_by_default(mock, tmp_path):
    path = tmp_path / "app-config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "openchoreo": {
                    "baseUrl": mock.url,
                    "server": {"port": 0},
                    "sqlite": {"path": str(tmp_path / "state.sqlite3")},
                }
            }
        )
    )
    config, _ = load_config([path], env={})
    assert config.openchoreo.server.host == "127.0.0.1"
    runtime = open_runtime([path])
    daemon = Daemon(runtime.config, runtime.plugins, runtime.store, runtime.engine)
    try:
        await daemon.start()
        assert daemon.http is not None
        if daemon.readers is not None:  # the default: reader processes accept on the daemon's socket
            bound = {daemon.readers.sock.getsockname()[0]}
        else:
            bound = {s.getsockname()[0] for srv in daemon.http._server.servers for s in srv.sockets}
        assert bound == {"127.0.0.1"}, bound
        port = daemon.http.port
        # Not reachable on another local address of this host, when it has one.
        others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
        for address in others - {"127.0.0.1"}:
            with socket.socket() as probe:
                probe.settimeout(1)
                assert probe.connect_ex((address, port)) != 0, address
    finally:
        await daemon.stop()
        runtime.close()


# --- YAML ----------------------------------------------------------------------------------------


def test_config_yaml_is_loaded_with_the_safe_loader(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "app-config.yaml"
    path.write_text(
        f"openchoreo:\n  baseUrl: http://x:1\n  defaultOwner: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with pytest.raises(ConfigError) as error:
        load_config([path], env={})
    assert str(path) in str(error.value) and "not valid YAML" in str(error.value)
    assert not marker.exists()


def test_no_unsafe_yaml_loader_anywhere_in_the_code():
    """Every yaml.load* call in core/ and plugins/ is the safe one."""
    unsafe = []
    for source in [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]:
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                base = node.func.value
                if (
                    isinstance(base, ast.Name) and base.id == "yaml" and name.startswith(("load", "unsafe", "full"))
                ) and name not in ("safe_load", "safe_load_all"):
                    unsafe.append(f"{source.relative_to(ROOT)}:{node.lineno} yaml.{name}")
                if name in ("load", "load_all") and any(kw.arg == "Loader" for kw in node.keywords):
                    loader = next(kw.value for kw in node.keywords if kw.arg == "Loader")
                    if not (isinstance(loader, ast.Attribute) and loader.attr in ("SafeLoader", "CSafeLoader")):
                        unsafe.append(f"{source.relative_to(ROOT)}:{node.lineno} {name}(Loader=...)")
    assert unsafe == []


# --- OpenChoreo text is data --------------------------------------------------------------------

HOSTILE = {
    "openchoreo.dev/display-name": "{{ .Values.secret }} ${HOME} $${X}",
    "openchoreo.dev/description": "!!python/object/apply:os.system ['id'] {% raw %} ${{ env.TOKEN }}",
}


async def test_openchoreo_text_passes_through_verbatim(mock, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/should/not/appear")
    env = mock.world.items("environments", NS)[0]
    env["metadata"].setdefault("annotations", {}).update(HOSTILE)
    mock.world.put("environments", NS, env)
    component = mock.world.items("components", NS)[0]
    component["metadata"].setdefault("annotations", {}).update(HOSTILE)
    mock.world.put("components", NS, component)

    harness = SyncHarness(mock.url, tmp_path, FAST_CLIENT)
    try:
        assert (await harness.run()).status == "ok"
        stored = harness.entities()
        url = await harness.serve()
        async with httpx.AsyncClient() as http:
            served = (await http.get(f"{url}/api/catalog/entities")).json()
    finally:
        await harness.close()

    for entity in [
        stored[f"environment:{NS}/{env['metadata']['name']}"],
        stored[f"component:{NS}/{component['metadata']['name']}"],
    ]:
        assert entity["metadata"]["title"] == HOSTILE["openchoreo.dev/display-name"]
        assert entity["metadata"]["description"] == HOSTILE["openchoreo.dev/description"]
    texts = json.dumps(served)
    assert HOSTILE["openchoreo.dev/display-name"] in json.dumps(served, ensure_ascii=False) or (
        json.dumps(HOSTILE["openchoreo.dev/display-name"])[1:-1] in texts
    )
    assert "/should/not/appear" not in texts

    # `export` writes YAML that reads back to exactly the same strings (no tags, no substitution).
    config = tmp_path / "app-config.yaml"
    config.write_text(yaml.safe_dump(harness.config_data))
    exported = subprocess.run(
        [CLI, "export", "--config", str(config)], capture_output=True, text=True, timeout=60, check=False
    )
    assert exported.returncode == 0, exported.stderr
    documents = list(yaml.safe_load_all(exported.stdout))
    titles = {d["metadata"].get("title") for d in documents}
    assert HOSTILE["openchoreo.dev/display-name"] in titles
    descriptions = {d["metadata"].get("description") for d in documents}
    assert HOSTILE["openchoreo.dev/description"] in descriptions
