"""``openchoreo-sync demo``: the whole product on a laptop, with no OpenChoreo and no Backstage."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

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
                    )
                    await daemon.schedule()
                finally:
                    await daemon.stop()

            asyncio.run(main())
        finally:
            runtime.close()
    return 0


def print_banner(mock_url: str, url: str, token: str | None) -> None:
    auth = f' -H "Authorization: Bearer {token}"' if token else ""
    print(
        f"""
openchoreo-sync demo is running (Ctrl-C to stop)
  mock OpenChoreo API : {mock_url}
  catalog API         : {url}/api/catalog

Try:
  curl -s '{url}/api/catalog/entities?filter=kind=domain'{auth}
  curl -s '{url}/api/catalog/entities?filter=kind=component,spec.system=url-shortener'{auth}
  curl -s '{url}/api/catalog/entities/by-name/component/default/api-service'{auth}
  curl -s '{url}/api/catalog/entity-facets?facet=kind'{auth}
  curl -s '{url}/api/catalog/entities/by-name/group/default/openchoreo-users'{auth}   # from the mock Thunder
""",
        flush=True,
    )
