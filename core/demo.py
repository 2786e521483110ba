"""``openchoreo-sync demo``: the whole product on a laptop, with no OpenChoreo and no Backstage."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import yaml

from .config import validate_config
from .config_loader import load_raw_config
from .daemon import Daemon
from .mockapi import MockOpenChoreo, WorldSpec
from .runtime import open_runtime


def demo_config(mock_url: str, args: argparse.Namespace, thunder_url: str | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {"host": "127.0.0.1", "port": args.port}
    if args.token:
        server["token"] = args.token
    config: dict[str, Any] = {
        "openchoreo": {
            "baseUrl": mock_url,
            "schedule": {"frequency": 30, "timeout": 120},
            "features": {"auth": {"enabled": False}},
            "server": server,
            "sqlite": {"path": str(args.state)},
        }
    }
    if thunder_url:  # Users and Groups from the mock's directory, so ownership resolves
        config["thunder"] = {"baseUrl": thunder_url}
    return config


def write_status_config(state: Path) -> Path:
    """A config naming only the demo's store, so ``status -c`` that file shows the demo's runs.

    The demo keeps its own store (not the default ``.openchoreo-sync/state.sqlite3``) so that its
    sample world never mixes with a real catalog; this file is how to find it again.
    """
    path = state.with_name(state.stem + ".app-config.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by 'openchoreo-sync demo': the demo's state store, for 'status' and 'approve-deletions'.\n"
        + yaml.safe_dump({"openchoreo": {"sqlite": {"path": str(state.resolve())}}}, sort_keys=False),
        encoding="utf-8",
    )
    return path


def run_demo(args: argparse.Namespace) -> int:
    spec = WorldSpec(namespaces=args.namespaces, projects=args.projects, components=args.components)
    with MockOpenChoreo(spec) as mock:
        raw = load_raw_config([], inline=[("demo", demo_config(mock.url, args, mock.thunder_url))])
        config = validate_config(raw)
        runtime = open_runtime([], config=config, raw=raw)
        try:
            daemon = Daemon(runtime.config, runtime.plugins, runtime.store, runtime.engine)

            async def main() -> None:
                daemon.install_signal_handlers()
                await daemon.start()
                try:
                    await daemon.run_once(trigger="demo")
                    print_banner(
                        mock.url,
                        f"http://127.0.0.1:{daemon.http.port if daemon.http else args.port}",
                        args.token,
                        store=args.state,
                        status_config=write_status_config(args.state),
                    )
                    await daemon.schedule()
                finally:
                    await daemon.stop()

            asyncio.run(main())
        finally:
            runtime.close()
    return 0


def print_banner(mock_url: str, url: str, token: str | None, *, store: Path, status_config: Path) -> None:
    auth = f' -H "Authorization: Bearer {token}"' if token else ""
    print(
        f"""
openchoreo-sync demo is running (Ctrl-C to stop)
  mock OpenChoreo API : {mock_url}
  catalog API         : {url}/api/catalog
  web UI (browser)    : {url}/ui
  metrics             : {url}/metrics
  state store         : {store.resolve()}

Its runs, from another shell:
  openchoreo-sync status --config {status_config}

Try:
  curl -s '{url}/api/catalog/entities?filter=kind=domain'{auth}
  curl -s '{url}/api/catalog/entities?filter=kind=component,spec.system=url-shortener'{auth}
  curl -s '{url}/api/catalog/entities/by-name/component/default/api-service'{auth}
  curl -s '{url}/api/catalog/entity-facets?facet=kind'{auth}
  curl -s '{url}/api/catalog/entities/by-name/group/default/openchoreo-users'{auth}   # from the mock Thunder
""",
        flush=True,
    )
