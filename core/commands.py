"""The work behind each CLI command (argument parsing lives in ``cli``)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import yaml

from . import gcpause
from .cli import EXIT_FAILED, EXIT_OK, EXIT_WOULD_CHANGE, EXIT_WOULD_GUARD, config_paths, dump_entities
from .config import load_config, redacted
from .logs import get_logger, redact_text, redact_value
from .quiet import first_failure, what_to_do
from .runtime import open_runtime, register_config_secrets
from .store import StateStore, open_existing_store

log = get_logger("openchoreo_sync.cli")

T = TypeVar("T")


def run_quietly(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with the result handed back past the event loop's main task.

    At its end Python 3.11's ``asyncio.run`` restores the SIGINT handler through
    ``signal.getsignal`` and ``signal.signal``, and both try ``signal.Handlers(handler)`` on its
    own handler: a ``functools.partial`` holding the finished main task. That fails with a message
    built from ``repr(task)``, which holds ``repr(result)``: twice the full repr of what the command
    returns (an export's entities and its ``Build``: ~0.25 s of a 2,000-component export).
    """
    box: list[T] = []

    async def keep() -> None:
        box.append(await main)

    asyncio.run(keep())
    return box[0]


def cmd_run(args: argparse.Namespace) -> int:
    runtime = open_runtime(config_paths(args))
    try:
        events = runtime.config.openchoreo.events.enabled
        log.info(
            "starting daemon",
            mode="events + scheduled full sync" if events else "poll-only (openchoreo.events.enabled=false)",
            frequency_seconds=runtime.config.openchoreo.schedule.frequency,
            timeout_seconds=runtime.config.openchoreo.schedule.timeout,
            plugins=[r.name for r in runtime.plugins.enabled()],
        )
        from .daemon import Daemon  # the server stack: only the commands that run the daemon import it

        daemon = Daemon(runtime.config, runtime.plugins, runtime.store, runtime.engine, serve_http=not args.no_server)
        asyncio.run(daemon.serve_forever())
    finally:
        runtime.close()
    return EXIT_OK


def cmd_once(args: argparse.Namespace) -> int:
    runtime = open_runtime(config_paths(args))
    try:
        from .daemon import Daemon

        daemon = Daemon(runtime.config, runtime.plugins, runtime.store, runtime.engine, serve_http=False)

        async def once() -> tuple[str, dict[str, Any]]:
            await daemon.start()
            try:
                result = await daemon.run_once(trigger="once")
                return result.status, result.summary
            finally:
                await daemon.stop()

        status, summary = asyncio.run(once())
    finally:
        runtime.close()
    failure = first_failure(summary) if status not in ("ok", "unchanged") else None
    hint = what_to_do(failure, runtime.config.openchoreo.base_url)
    print(
        f"run finished: {status}" + (f": {failure}" if failure else "") + (f"; {hint}" if hint else ""), file=sys.stderr
    )
    return EXIT_OK if status in ("ok", "unchanged") else EXIT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    # The cyclic collector stays off for the whole command, not only while the engine fetches,
    # maps and relates (``Engine.export``): turned back on with a run's worth of new objects, its
    # next collections walk all of them, and writing the text allocates ~a million more strings
    # (at 2k components ~0.4 s of collections during a ~0.2 s dump). The process exits right
    # after, and the entities hold no cycles to find.
    gcpause.pause()  # the engine's own pause nests in this one
    try:
        runtime = open_runtime(config_paths(args))
        try:
            entities, build = run_quietly(runtime.engine.export())
        finally:
            runtime.close()
        failures = {**build.collections_failed, **build.families_failed}
        ordered = [entities[ref] for ref in sorted(entities)]
        sys.stdout.write(dump_entities(ordered, args.format))
    finally:
        # What is alive now stays until the process exits, where Python's last collection would
        # walk all of it to find nothing (~0.15 s of a 2k export's exit); frozen, it is skipped.
        gc.freeze()
        gcpause.resume()
    if failures:
        for key, error in failures.items():
            log.error("fetch failed; the export is incomplete", collection=key, error=error)
        return EXIT_FAILED
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from .planning import plan_run

    runtime = open_runtime(config_paths(args))
    try:
        plan = run_quietly(plan_run(runtime.engine))
    finally:
        runtime.close()
    if args.json:
        print(json.dumps(plan.to_json(), indent=2, default=str))
    else:
        print("\n".join(plan.lines()))
    return {"failed": EXIT_FAILED, "guarded": EXIT_WOULD_GUARD, "changes": EXIT_WOULD_CHANGE}.get(plan.outcome, EXIT_OK)


def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain_entity

    runtime = open_runtime(config_paths(args))
    try:
        try:
            explanation = run_quietly(explain_entity(runtime.engine, args.entity_ref))
        except ValueError as exc:  # not an entity ref
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        runtime.close()
    if args.json:
        print(json.dumps(explanation.to_json(), indent=2, default=str))
    else:
        print("\n".join(explanation.lines()))
    return EXIT_OK if explanation.in_catalog or explanation.in_live_api else EXIT_FAILED


def cmd_check(args: argparse.Namespace) -> int:
    config, raw = load_config(config_paths(args), needs_api=args.probe)
    print("config read from: " + ", ".join(raw.sources), file=sys.stderr)
    for note in raw.notes:
        print(f"note: {note}", file=sys.stderr)
    from .plugins_manager import load_plugins

    plugins = load_plugins(config)
    effective = redacted(config)
    effective["plugins (effective)"] = {
        name: ("enabled" if r.enabled else "disabled") + (f" (failed to load: {r.error})" if r.error else "")
        for name, r in sorted(plugins.records.items())
    }
    sys.stdout.write(yaml.safe_dump(effective, sort_keys=False))
    if not args.probe:
        print("configuration is valid", file=sys.stderr)
        return EXIT_OK
    from .client import format_probe, probe
    from .plugin_probe import probe_plugins

    async def everything() -> list[Any]:
        return [*await probe(config.openchoreo), *await probe_plugins(config, plugins)]

    results = asyncio.run(everything())
    print(redact_text(format_probe(results)))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def cmd_plugins(args: argparse.Namespace) -> int:
    config, _ = load_config(config_paths(args), needs_api=False)
    from .plugins_manager import load_plugins

    plugins = load_plugins(config)
    rows: list[dict[str, Any]] = []
    for name, record in sorted(plugins.records.items()):
        rows.append(
            {
                "name": name,
                "package": record.package,
                "version": record.version,
                "enabled": record.enabled,
                "hooks": record.hooks,
                "kinds": list(record.info.kinds) if record.info else [],
                "error": record.error,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for row in rows:
        state = "enabled" if row["enabled"] else ("FAILED TO LOAD" if row["error"] else "disabled")
        print(f"{row['name']}  [{state}]  {row['package']} {row['version']}")
        print(f"    hooks: {', '.join(row['hooks']) or '-'}")
        print(f"    kinds: {', '.join(row['kinds']) or '-'}")
        if row["error"]:
            print(f"    error: {row['error']}")
    return EXIT_OK


def daemon_health(config: Any) -> dict[str, Any]:
    """What the running daemon's /readyz says (what is degraded and why), or why it cannot be asked."""
    import httpx

    server = config.openchoreo.server
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
    headers = {"Authorization": f"Bearer {server.token.get_secret_value()}"} if server.token else {}
    try:
        response = httpx.get(f"http://{host}:{server.port}/readyz", headers=headers, timeout=3, trust_env=False)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "unreachable", "reason": f"no daemon answered on {host}:{server.port} ({type(exc).__name__})"}
    return body if isinstance(body, dict) else {"status": "unknown"}


def cmd_status(args: argparse.Namespace) -> int:
    store = _existing_store(args)
    try:
        runs = store.recent_runs(args.limit)
        total = store.count()
        store_health = store.health()
    finally:
        store.close()
    config, _ = load_config(config_paths(args), needs_api=False)
    daemon = redact_value(daemon_health(config)) if config.openchoreo.server.port else {}
    if args.json:  # records written before scrubbing existed are scrubbed on the way out
        print(json.dumps([redact_value(r.__dict__) for r in runs], indent=2, default=str))
        return EXIT_OK
    print(f"catalog: {total} entities")
    if store_health:
        print(f"store: {redact_text(store_health)}")
    if daemon:
        print(f"daemon: {daemon.get('status')}" + (f" ({daemon['reason']})" if daemon.get("reason") else ""))
        for what, why in sorted((daemon.get("degraded") or {}).items()):
            print(f"    degraded {what}: {why}")
    if not runs:
        print("no runs recorded yet")
    for run in runs:
        summary = redact_value(run.summary)
        changes = summary.get("changes", {})
        print(
            f"{run.run_id}  {run.status:<9}  {run.started_at}  trigger={run.trigger}  "
            f"+{changes.get('added', 0)} ~{changes.get('changed', 0)} -{changes.get('removed', 0)}"
        )
        counts = summary.get("counts") or {}
        if counts:
            print("    " + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())))
        for key, error in {
            **summary.get("failed_families", {}),
            **summary.get("failed_collections", {}),
        }.items():
            print(f"    failed {key}: {error}")
        for collection, held in sorted((summary.get("empty_held") or {}).items()):
            print(f"    empty, held: {collection} ({held} entities kept; the reader role may lack a :view)")
        for reason in summary.get("guard", []):
            print(f"    guarded: {reason}")
            print(f"    to apply: openchoreo-sync approve-deletions {run.run_id}")
        if summary.get("error"):
            print(f"    {summary['error']}")
        if summary.get("skipped"):
            print(f"    skipped {summary['skipped']} bad item(s); see the run log")
        for name, outcome in (summary.get("outputs") or {}).items():
            if outcome not in ("ok", "full"):
                print(f"    output {name}: {outcome}")
        for name, problems in (summary.get("output_problems") or {}).items():
            for problem in problems:
                print(f"    output {name}: {problem}")
    return EXIT_OK


def cmd_approve_deletions(args: argparse.Namespace) -> int:
    store = _existing_store(args)
    try:
        run = store.get_run(args.run_id)
        if run is None:
            print(
                f"error: no run {args.run_id!r} in the state store; see 'openchoreo-sync status'",
                file=sys.stderr,
            )
            return EXIT_FAILED
        if run.status != "guarded" and not run.summary.get("empty_held"):
            print(
                f"error: run {args.run_id} was not guarded (status {run.status}); nothing to approve",
                file=sys.stderr,
            )
            return EXIT_FAILED
        store.approve(args.run_id)
    finally:
        store.close()
    if run.status != "guarded":
        held = ", ".join(sorted(run.summary["empty_held"]))
        print(f"approved: the next run may empty these collections held by run {args.run_id}: {held}")
        return EXIT_OK
    planned = len(run.summary.get("planned_removals", []))
    print(f"approved: the next run may remove up to these {planned} entities held back by run {args.run_id}")
    return EXIT_OK


def _existing_store(args: argparse.Namespace) -> StateStore:
    """The configured store for commands that read or approve; they need no baseUrl nor plugins."""
    config, _ = load_config(config_paths(args), needs_api=False)
    register_config_secrets(config)
    return open_existing_store(config)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args)


__all__ = ["EXIT_FAILED"]
