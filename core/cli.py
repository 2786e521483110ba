"""``openchoreo-sync``: the command line.

Every command that reads config takes ``--config FILE`` (repeatable; later files override earlier
ones, as Backstage merges them). Without it, as in Backstage, ``app-config.yaml`` and then
``app-config.local.yaml`` (if present) are read from the working directory; any ``--config``
replaces both. Exit codes: 0 success, 1 the work failed, 2 bad usage or config;
``plan`` also answers 3 (the next run would change the catalog) and 4 (the deletion guard would
hold the next run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from . import __version__
from .errors import ConfigError, NoStoreError, PluginError, StoreError, SyncError
from .kit.publishing import YamlDumper, scalar_cache
from .kit.yaml_emit import dump_json_documents
from .logs import configure_logging, get_logger, redact_text
from .memory import limit_malloc_arenas

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_WOULD_CHANGE, EXIT_WOULD_GUARD = 3, 4


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="an app-config.yaml; repeat to merge several (later files win). Default: app-config.yaml "
        "and app-config.local.yaml of the working directory",
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="console on a terminal, JSON lines otherwise (default: auto)",
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openchoreo-sync",
        description="Mirror an OpenChoreo control plane into a Backstage software catalog.",
        epilog="Run 'openchoreo-sync demo' to try it with no OpenChoreo and no Backstage.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="run as a daemon: sync now and every openchoreo.schedule.frequency seconds")
    p.description = (
        "Sync at start and then every frequency seconds, serving the catalog read API, published YAML "
        "and the events endpoint on openchoreo.server (default 127.0.0.1:7007). SIGTERM/SIGINT stop it cleanly."
    )
    _common(p)
    p.add_argument("--no-server", action="store_true", help="do not start the HTTP server")

    p = sub.add_parser("once", help="do a single sync run and exit (0 only if it succeeded)")
    p.description = "Fetch, map, relate, commit and emit once; exit 0 when the run's status is ok."
    _common(p)

    p = sub.add_parser("export", help="print what a sync would produce, touching no output")
    p.description = "Run fetch -> map -> relate and print the entities to stdout (for GitOps and piping)."
    _common(p)
    p.add_argument("--format", choices=("yaml", "json"), default="yaml", help="multi-document YAML or a JSON array")

    p = sub.add_parser("plan", help="show what the next run would add, change and remove, committing nothing")
    p.description = (
        "Fetch, map, reconcile and relate against the stored snapshot like a run, then print what it would "
        "add, change (field by field) and remove and what the deletion guard would hold; no commit, no "
        "output. Exit 0: nothing would change; 3: the catalog would change; 4: the guard would hold the "
        "run; 1: the run would fail."
    )
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output (for CI)")

    p = sub.add_parser("explain", help="show where one entity comes from and which plugins made it")
    p.description = (
        "Print an entity's OpenChoreo resource, collection and family plugin, the map_resource plugin that "
        "answered and the decorate_entity plugins that changed it, its relations with the relate plugin "
        "that reported each, its last change and run, and whether it is stale or pending removal."
    )
    _common(p)
    p.add_argument("entity_ref", help="kind:namespace/name, e.g. component:acme/web")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("check", help="validate the configuration and print it with secrets redacted")
    p.description = (
        "Validate config and plugins, print the effective configuration (secrets masked); non-zero on error."
    )
    _common(p)
    p.add_argument("--probe", action="store_true", help="also call the token endpoint and the OpenChoreo API")

    p = sub.add_parser("plugins", help="list every plugin: package, version, hooks, kinds, enabled")
    p.description = "List every plugin found through the openchoreo_sync.plugins entry-point group."
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("status", help="show the last runs recorded in the state store")
    p.description = "Show the outcome, counts, failures and changes of the most recent runs."
    _common(p)
    p.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("approve-deletions", help="approve the removals a guarded run held back")
    p.description = (
        "A run that would remove too much is held by the deletion guard. Approving it lets the next "
        "run apply those removals (and no others)."
    )
    _common(p)
    p.add_argument("run_id", help="the id of the guarded run, as printed by the log and 'status'")

    from .mock_options import configure_parser as configure_mock

    p = sub.add_parser("mock-api", help="serve a mock OpenChoreo API with a generated world")
    p.description = "Serve the mock OpenChoreo Platform API on 127.0.0.1 (for demos and plugin tests)."
    configure_mock(p)

    p = sub.add_parser("demo", help="start the mock API, sync it into the embedded catalog, serve it")
    p.description = (
        "Everything in one process, no OpenChoreo or Backstage needed: a mock OpenChoreo API with a "
        "sample world, the daemon syncing it every 30 s, and the catalog API on 127.0.0.1:7007."
    )
    p.add_argument("--port", type=int, default=7007, help="catalog API port (default 7007)")
    p.add_argument("--namespaces", type=int, default=2, help="generated namespaces besides 'default'")
    p.add_argument("--projects", type=int, default=2, help="projects per generated namespace")
    p.add_argument("--components", type=int, default=4, help="components per generated project")
    p.add_argument("--state", type=Path, default=Path(".openchoreo-sync/demo.sqlite3"), help="state store file")
    p.add_argument("--token", default=None, help="require this bearer token on the catalog API")
    p.add_argument("--log-format", choices=("auto", "console", "json"), default="auto")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()  # before any thread starts (``openchoreo_sync.memory``)
    args = build_parser().parse_args(argv)
    if args.command == "mock-api":
        from .mockapi import run_from_args

        return int(run_from_args(args) or 0)
    configure_logging(args.log_format, args.log_level)
    try:
        return int(_dispatch(args))
    except NoStoreError as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except ConfigError as exc:
        print(redact_text(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    except (PluginError, StoreError) as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except SyncError as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # a start-up failure nobody foresaw: one line, the traceback only when asked
        if args.log_level == "debug":
            raise
        print(
            f"error: {type(exc).__name__}: {redact_text(str(exc))} (run with --log-level debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def config_paths(args: argparse.Namespace) -> list[Path]:
    """The ``--config`` files, or Backstage's default files of the working directory."""
    from .config_loader import default_config_paths

    paths: list[Path] = args.config
    return paths or default_config_paths(Path.cwd())


def _dispatch(args: argparse.Namespace) -> int:
    from . import commands

    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    result: Any = handler(args)
    return int(result)


def dump_entities(entities: list[dict[str, Any]], fmt: str) -> str:
    """The export's text: a JSON array (indent 2) or a multi-document YAML stream.

    Both go through compiled encoders: orjson for JSON (``json`` for what it refuses, e.g. an
    integer beyond 64 bits), and for YAML libyaml behind the publishing dumper's representer
    (:mod:`openchoreo_sync.kit.publishing`), which never writes anchors, and for the JSON-shaped
    entities the publishing emitter of its own (:mod:`openchoreo_sync.kit.yaml_emit`, same bytes).
    At 2,000 components Python's own encoders took longer than the fetch.
    """
    if fmt == "json":
        try:
            return orjson.dumps(entities, option=orjson.OPT_INDENT_2).decode() + "\n"
        except TypeError:
            return json.dumps(entities, indent=2, ensure_ascii=False) + "\n"
    return dump_json_documents(entities, cache=scalar_cache(), sort_keys=False, width=80, fallback=_pyyaml_export)


def _pyyaml_export(entities: list[Any]) -> str:
    """The export's YAML as PyYAML writes it: the reference ``kit.yaml_emit`` matches byte for byte."""
    text: str = yaml.dump_all(entities, Dumper=YamlDumper, sort_keys=False, allow_unicode=True, explicit_start=True)
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["dump_entities", "get_logger", "main"]
