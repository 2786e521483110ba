"""The deployment to copy (issue 18): the Dockerfile's install steps, run here as CI can (no Docker
engine on this machine), and the Kubernetes manifests rendered by ``kubectl kustomize``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
KUBECTL = shutil.which("kubectl")


def _kustomize_major() -> int:
    """The major version of kubectl's built-in kustomize (0 when unknown: kubectl < 1.21 had v2)."""
    if KUBECTL is None:
        return 0
    out = subprocess.run([KUBECTL, "version", "--client"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"Kustomize Version: v(\d+)", out)
    return int(match.group(1)) if match else 0


needs_kubectl = pytest.mark.skipif(
    _kustomize_major() < 4, reason="needs kubectl with a built-in kustomize v4+ (the manifests use `labels`)"
)


# --- the image -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package built and installed by the Dockerfile's commands, from the files it copies."""
    work = tmp_path_factory.mktemp("image")
    src = work / "src"
    src.mkdir()
    copied = re.findall(r"^COPY (?!--from)(.+) (\S+)$", DOCKERFILE, flags=re.MULTILINE)
    for sources, _ in copied:
        for name in sources.split():
            origin = ROOT / name
            if origin.is_dir():
                shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(origin, src / name)
    wheels = work / "wheels"
    # the first RUN of the build stage, as written there (its second collects the dependencies'
    # wheels from the index, which CI's own install already exercises)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-cache-dir", "--no-deps", "--wheel-dir", str(wheels), "."],
        cwd=src,
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("openchoreo_catalog_sync-*.whl")
    site = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    yield site


def pod_env(container: dict[str, Any]) -> dict[str, str]:
    """The environment the pod gets from ``base/secret.example.yaml``, as the kubelet would set it."""
    secret = yaml.safe_load((ROOT / "deploy/kubernetes/base/secret.example.yaml").read_text())["stringData"]
    out: dict[str, str] = {}
    for entry in container["env"]:
        if "value" in entry:
            out[entry["name"]] = str(entry["value"])
        elif (key := entry.get("valueFrom", {}).get("secretKeyRef", {}).get("key")) in secret:
            out[entry["name"]] = str(secret[key])
    return out


def installed_cli(site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openchoreo_sync.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=site.parent,
        env={**os.environ, "PYTHONPATH": str(site), **(env or {})},
    )


def test_dockerfile_is_slim_non_root_with_a_healthcheck():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert stages and all(re.fullmatch(r"python:3\.\d+-slim( AS \w+)?", s) or s.endswith("-slim") for s in stages)
    user = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", DOCKERFILE, flags=re.MULTILINE)
    assert "[test]" not in DOCKERFILE and " -e " not in DOCKERFILE, "only the runtime dependencies"
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in DOCKERFILE


def test_the_wheel_holds_the_whole_package_and_only_runtime_dependencies(installed):
    (dist,) = installed.glob("openchoreo_catalog_sync-*.dist-info")
    metadata = (dist / "METADATA").read_text()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    names = {re.split(r"[<>=!\[ ;]", line.removeprefix("Requires-Dist: "))[0].lower() for line in requires}
    assert {"prometheus_client", "uvicorn", "pydantic"} <= {n.replace("-", "_") for n in names}
    assert not names & {"pytest", "mypy", "ruff", "hypothesis"}
    package = installed / "openchoreo_sync"
    for source in (ROOT / "core").rglob("*.py"):
        assert (package / source.relative_to(ROOT / "core")).is_file(), source
    for source in (ROOT / "plugins").rglob("*.py"):
        assert (package / "plugins" / source.relative_to(ROOT / "plugins")).is_file(), source
    assert (package / "mockapi" / "openchoreo-api.yaml").is_file()
    proc = installed_cli(installed, "plugins", "--json", "-c", str(ROOT / "app-config.example.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert {"embedded_catalog", "components", "backstage"} <= {row["name"] for row in yaml.safe_load(proc.stdout)}
    where = subprocess.run(
        [sys.executable, "-c", "import openchoreo_sync; print(openchoreo_sync.__file__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed)},
        check=True,
    )
    assert where.stdout.startswith(str(installed)), "the test ran the installed wheel, not the checkout"
    assert zipfile.is_zipfile(next((installed.parent / "wheels").glob("*.whl")))


# --- Kubernetes ------------------------------------------------------------------------------------


def render(path: str) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    proc = subprocess.run([KUBECTL, "kustomize", str(ROOT / path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, (kind, [o["kind"] for o in objects])
    return found[0]


def write_config_map(objects: list[dict[str, Any]], directory: Path) -> dict[str, Path]:
    directory.mkdir(exist_ok=True)
    files = {}
    for name, text in one(objects, "ConfigMap")["data"].items():
        files[name] = directory / name
        files[name].write_text(text)
    return files


@needs_kubectl
def test_base_renders_two_replicas_on_postgres_with_probes_and_no_root(installed, tmp_path):
    objects = render("deploy/kubernetes/base")
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"}
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 2
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert secrets == {"openchoreo-sync-credentials"}
    config_map = one(objects, "ConfigMap")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    labels = spec["template"]["metadata"]["labels"]
    for selector in (
        spec["selector"]["matchLabels"],
        one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
    service = one(objects, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["port"] == container["ports"][0]["containerPort"] == 7007

    files = write_config_map(objects, tmp_path / "etc")
    args = [a.replace("/etc/openchoreo-sync", str(tmp_path / "etc")) for a in container["args"][1:]]
    args = [a for a in args if a != "json" and a != "--log-format"]
    check = installed_cli(installed, "check", *args, env=pod_env(container))
    assert check.returncode == 0, check.stderr
    # Without its tokens the config is refused: the events endpoint would be open on 0.0.0.0.
    tokens = ("OPENCHOREO_SYNC_EVENTS_TOKEN", "OPENCHOREO_SYNC_SERVER_TOKEN")
    without = {k: v for k, v in pod_env(container).items() if k not in tokens}
    refused = installed_cli(installed, "check", *args, env=without)
    assert refused.returncode != 0 and "openchoreo.events.token" in refused.stderr, refused.stderr
    effective = yaml.safe_load(check.stdout)["openchoreo"]
    assert effective["store"] == "postgres" and effective["server"]["host"] == "0.0.0.0"
    assert list(files) == ["app-config.yaml"]


@needs_kubectl
def test_sqlite_overlay_is_one_replica_on_a_volume(installed, tmp_path):
    objects = render("deploy/kubernetes/overlays/sqlite")
    assert not [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    claim = one(objects, "PersistentVolumeClaim")
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e for e in container["env"]}
    assert env["SQLITE_TMPDIR"]["value"] == mounts["state"], "SQLite's temporary files on the state volume"
    assert "OPENCHOREO_CLIENT_SECRET" in env, "the base's environment is kept"
    files = write_config_map(objects, tmp_path / "etc")
    assert set(files) == {"app-config.yaml", "app-config.sqlite.yaml"}
    configs = [str(tmp_path / "etc" / Path(a).name) for a in container["args"] if a.startswith("/etc/openchoreo-sync/")]
    check = installed_cli(
        installed, "check", *[arg for path in configs for arg in ("--config", path)], env=pod_env(container)
    )
    assert check.returncode == 0, check.stderr
    effective = yaml.safe_load(check.stdout)["openchoreo"]
    assert effective["store"] == "sqlite"
    assert Path(effective["sqlite"]["path"]).parent == Path(mounts["state"])
