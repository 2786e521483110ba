"""The options of ``openchoreo-sync mock-api``, apart from the mock itself.

The CLI builds every subcommand's parser on each start; importing the mock (its Starlette app,
world generator and fault layer) just to declare these options cost every command, ``export``
included, ~40 ms. The mock's runner reads them (``run_from_args``).
"""

from __future__ import annotations

import argparse


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``openchoreo-sync mock-api``."""
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--namespaces", type=int, default=3, help="generated namespaces besides 'default'")
    parser.add_argument("--projects", type=int, default=2, help="projects per generated namespace")
    parser.add_argument("--components", type=int, default=5, help="components per generated project")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated world")
    parser.add_argument("--auth", action="store_true", help="require bearer tokens from /oauth2/token")
    parser.add_argument("--client-id", default="openchoreo-catalog-sync")
    parser.add_argument("--client-secret", default=None, help="default: random, printed at start")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every API request")
    parser.add_argument("--thunder-token", default=None, help="static bearer token the /thunder directory requires")
