"""Read-API benchmark: the embedded catalog next to a real Backstage catalog, on the same entities.

    python benchmarks/read_api.py [--sizes 2000,10000] [--concurrency 1,8,32] [--seconds 2] [--rounds 3]
                                  [--read-processes 2] [--ours-only] [--backstage-processing-seconds 100]

Per size it syncs a generated world from the mock API (its own process), keeps the entities of
the kinds a plain Backstage catalog accepts (``tests/support/backstage_backend.STANDARD_KINDS``),
and serves exactly those twice:

* by the daemon's embedded catalog: committed to a fresh SQLite store, served by a daemon process
  of its own (``SyncHarness.serve()``, no syncs running) with ``--read-processes`` reader
  processes owning its port (``openchoreo.server.readProcesses``; 0: the daemon's process alone);
* by the real Backstage backend of ``e2e/backstage`` (catalog plugin only), which ingests them as
  one YAML location from a stdlib HTTP server; the benchmark waits until its kind counts match.
  It runs with Backstage's own processing interval (100-150 s), not the e2e tests' 5 s.

Before timing, every query is asked of both and the answers compared (refs, or facet counts
without Backstage's own Location entities); a mismatch is printed. Then the benchmark waits
(bounded) until Backstage's by-name rate is steady: its processing loop keeps stitching entities
after the ingest. ``--ours-only`` skips Backstage (a quick check of the embedded catalog alone). Then each query is timed at
each concurrency for ``--seconds``, ``--rounds`` times, alternating servers; the table shows the
median req/s of each and the ratio embedded ÷ Backstage (above 1: the embedded catalog is faster),
and p50/p99 latency at concurrency 1. The load generator is a keep-alive HTTP/1.1 client on raw
asyncio streams in this process (httpx would saturate before either server does); against a
trivial asyncio server it does ~11.7k / 38k / 57k req/s at concurrency 1 / 8 / 32 on this machine,
several times what either server reaches. All three
processes share the machine: on 2 cores the figures are noisy; repeat and compare medians.

Not part of pytest (minutes per size). Needs Node.js 20 and npm for Backstage.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

TOKEN = "bench-static-token-0123456789"
CATALOG = "/api/catalog"
INGEST_TIMEOUT_S = 900.0
RESPONSE_TIMEOUT_S = 60.0
SETTLE_LIMIT_S = 180.0
BACKSTAGE_PROCESSING_S = 100  # Backstage's own catalog.processingInterval (see start_backstage)
OVERRUN_S = 5.0
"""A request still unanswered this long after its window ended is abandoned (counted, not timed)."""


ANCHORS = {
    "by-name": (1350, 149),
    "filter=kind=component&limit=100": (140, 62),
    "filter=kind=component,spec.system=…": (41, 25),
    "by-query kind=api&limit=50": (47, 113),
    "entity-facets?facet=kind": (527, 50),
}
"""Issue 19's figures before this work, 2,000 components on this machine: (Backstage, embedded) req/s."""


# --- the snapshot ------------------------------------------------------------------------------


def build_snapshot(size: int, workdir: Path) -> list[dict[str, Any]]:
    """The standard-kind entities of a generated world of ``size`` components, as the daemon maps them."""
    from sync_bench import MockProcess, spec_args

    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.testing.harness import SyncHarness
    from tests.support.backstage_backend import STANDARD_KINDS

    configure_logging(level="warning")
    mock = MockProcess(spec_args(size), 0)
    try:
        harness = SyncHarness(mock.url, workdir / "source", {"openchoreo": {"schedule": {"timeout": 1800}}})

        async def sync() -> list[dict[str, Any]]:
            try:
                result = await harness.run(trigger="bench")
                assert result.status == "ok", result.summary
                return [e for e in harness.entities().values() if e["kind"] in STANDARD_KINDS]
            finally:
                await harness.close()

        return asyncio.run(sync())
    finally:
        mock.stop()


def commit_snapshot(entities: list[dict[str, Any]], state_dir: Path) -> None:
    """Commit exactly ``entities`` into a fresh store, as one run of the engine would."""
    from openchoreo_sync.model import entity_ref
    from openchoreo_sync.serialization import serialize
    from openchoreo_sync.store.base import Commit, EntityWrite, RunRecord
    from openchoreo_sync.store.sql import utcnow
    from openchoreo_sync.store.sqlite import SqliteStore

    store = SqliteStore(state_dir / "state.sqlite3")
    store.migrate()
    writes = (EntityWrite(entity_ref(e), e, *serialize(e), "bench", "bench", False) for e in entities)
    store.commit(Commit(RunRecord("bench", utcnow(), utcnow(), "ok"), writes=writes))
    store.close()


# --- the two servers -----------------------------------------------------------------------------


def serve_child(state_dir: Path, read_processes: int) -> None:
    """``--serve``: run a daemon's HTTP server on the committed store until stdin closes."""
    from openchoreo_sync.logs import configure_logging
    from openchoreo_sync.testing.harness import SyncHarness

    configure_logging(level="warning")

    async def main() -> None:
        overrides = {"openchoreo": {"server": {"readProcesses": read_processes}}}
        harness = SyncHarness("http://127.0.0.1:9", state_dir, overrides)
        url = await harness.serve()
        print(url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await harness.close()

    asyncio.run(main())


class OurServer:
    def __init__(self, state_dir: Path, read_processes: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(state_dir), "--read-processes", str(read_processes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the daemon did not start")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_backstage(
    entities: list[dict[str, Any]], workdir: Path, *, processing_seconds: int
) -> tuple[Any, Callable[[], None]]:
    """A real Backstage catalog that has ingested ``entities`` (as YAML from a local HTTP server).

    ``processing_seconds`` is its ``catalog.processingInterval``: each entity is processed again
    every that to 1.5x that many seconds. The e2e config's 5 s lets tests see a change quickly; at
    10,000 components it keeps Backstage re-processing ~2,000 entities a second without end, the
    likeliest reason it answered almost no reads at 10k in earlier rounds. A benchmark runs it as
    deployed: 100 s gives Backstage's own default (100-150 s when the key is absent)."""
    import httpx
    import yaml

    from tests.support.backstage_backend import STANDARD_KINDS, BackstageBackend

    root = workdir / "www"
    root.mkdir()
    documents = [{k: v for k, v in e.items() if k not in ("relations", "status")} for e in entities]
    (root / "catalog.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    backstage = BackstageBackend(
        token=TOKEN,
        allow_kinds=list(STANDARD_KINDS),
        startup_timeout=180,
        extra_config={"catalog": {"processingInterval": {"seconds": processing_seconds}}},
    ).start()

    def stop() -> None:
        backstage.stop()
        backstage.cleanup()
        server.shutdown()
        server.server_close()

    try:
        backstage.register_location(f"http://127.0.0.1:{server.server_address[1]}/catalog.yaml")
        expected: dict[str, int] = {}
        for e in entities:
            expected[e["kind"]] = expected.get(e["kind"], 0) + 1
        started = time.monotonic()
        while True:
            counts: dict[str, int] = {}
            try:
                resp = backstage.request("GET", f"{CATALOG}/entity-facets", params={"facet": "kind"})
                if resp.status_code == 200:
                    counts = {f["value"]: f["count"] for f in resp.json()["facets"]["kind"]}
            except httpx.TransportError:  # a busy Node closes keep-alive connections now and then
                pass
            counts.pop("Location", None)
            if counts == expected:
                break
            if time.monotonic() - started > INGEST_TIMEOUT_S:
                raise RuntimeError(f"Backstage did not ingest the snapshot in time: {counts} vs {expected}")
            time.sleep(2)
        print(f"  backstage ingested {len(entities):,} entities in {time.monotonic() - started:.0f} s", flush=True)
    except BaseException:
        stop()
        raise
    return backstage, stop


# --- the load generator --------------------------------------------------------------------------


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        raise RuntimeError("a response without a length")
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
    return body


def _request(host: str, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nAccept: application/json\r\n\r\n"
    ).encode()


async def fetch(url: str, path: str) -> Any:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(_request(parts.netloc, path))
        return json.loads(await asyncio.wait_for(_response(reader), RESPONSE_TIMEOUT_S))
    finally:
        writer.close()


class _Window:
    """When a load window ends: a fixed time, or sooner when the awaited work (a sync) finishes.
    Shared by the window's connections, so ending it early ends them all at their next request."""

    def __init__(self, seconds: float, stop: asyncio.Future[Any] | None) -> None:
        self.end = time.perf_counter() + seconds
        if stop is not None:
            stop.add_done_callback(self.close)

    def close(self, _: object = None) -> None:
        self.end = min(self.end, time.perf_counter())


class _Connection(asyncio.Protocol):
    """One keep-alive connection of the load generator: sends a request, times its answer, sends
    the next, until the window's deadline. A protocol with httptools' C parser rather than asyncio
    streams and a ``wait_for`` per request: the load generator shares the cores with the server it
    measures (and, in ``read_during_sync``, with a sync), and the streams version cost ~90 µs of
    CPU per request, as much as the reader process answering it."""

    def __init__(self, requests: list[bytes], index: int, step: int, window: _Window, latencies: list[float]) -> None:
        self.requests, self.index, self.step, self.window, self.latencies = requests, index, step, window, latencies
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.sent = 0.0
        self.body: list[bytes] = []

    def _finish(self, outcome: str | BaseException) -> None:
        if not self.done.done():
            if isinstance(outcome, BaseException):
                self.done.set_exception(outcome)
            else:
                self.done.set_result(outcome)
        if self.transport is not None:
            self.transport.close()

    def _send(self) -> None:
        assert self.transport is not None
        now = time.perf_counter()
        if now >= self.window.end:
            self._finish("done")
            return
        self.sent = now
        self.transport.write(self.requests[self.index % len(self.requests)])
        self.index += self.step

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport subclasses
        self._send()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(RuntimeError(f"a malformed response: {exc}"))

    def on_body(self, body: bytes) -> None:
        if self.parser.get_status_code() != 200:
            self.body.append(body)

    def on_message_complete(self) -> None:
        latency = time.perf_counter() - self.sent
        status = self.parser.get_status_code()
        if status != 200:
            self._finish(RuntimeError(f"HTTP {status}: {b''.join(self.body)[:300]!r}"))
            return
        self.latencies.append(latency)
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish("lost")


async def _until_overrun(done: asyncio.Future[str], window: _Window) -> str:
    """``done``'s outcome, or TimeoutError once the window's end (which may move sooner) is
    ``OVERRUN_S`` past: checked every 0.2 s, since a window ended early must not wait out its bound."""
    while True:
        left = window.end + OVERRUN_S - time.perf_counter()
        if left <= 0:
            raise TimeoutError
        try:
            return await asyncio.wait_for(asyncio.shield(done), min(left, 0.2))
        except TimeoutError:
            if done.done():
                return done.result()


async def hammer(
    url: str,
    paths: list[str],
    concurrency: int,
    seconds: float,
    sink: list[float] | None = None,
    stop: asyncio.Future[Any] | None = None,
) -> dict[str, float]:
    """Requests per second and latency percentiles over ``seconds`` with ``concurrency`` connections
    (each latency, in seconds, also appended to ``sink`` when given); with ``stop``, the window ends
    as soon as it is done, ``seconds`` being the bound. A request still unanswered ``OVERRUN_S``
    after the window ended is abandoned (counted, not timed) and its connection stops."""
    parts = urlsplit(url)
    requests = [_request(parts.netloc, p) for p in paths]
    latencies: list[float] = []
    window = _Window(seconds, stop)
    loop = asyncio.get_running_loop()

    reconnects = 0
    abandoned = 0

    async def worker(offset: int) -> None:
        """One keep-alive connection; reopened if the server closes it (Node does, now and then)."""
        nonlocal reconnects, abandoned
        index = offset
        while time.perf_counter() < window.end:
            conn = _Connection(requests, index, concurrency, window, latencies)
            await loop.create_connection(lambda c=conn: c, parts.hostname, parts.port)
            try:
                # bounded past the window's end: a stalled server cannot stretch a 2 s cell to minutes
                outcome = await _until_overrun(conn.done, window)
            except TimeoutError:
                abandoned += 1
                conn._finish("abandoned")
                return
            index = conn.index
            if outcome == "lost":
                reconnects += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    if sink is not None:
        sink.extend(latencies)
    if not latencies:  # nothing answered within the window (a stalled server)
        return {
            "rps": 0.0,
            "requests": 0,
            "p50_ms": float("inf"),
            "p99_ms": float("inf"),
            "reconnects": reconnects,
            "abandoned": abandoned,
        }
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "reconnects": reconnects,
        "abandoned": abandoned,
    }


def settle(url: str, paths: list[str], *, limit_s: float = SETTLE_LIMIT_S) -> float:
    """Wait until Backstage's by-name rate is steady: after an ingest its processing loop keeps
    stitching entities for a while, and timing then would measure that, not the read path.
    Steady = two consecutive 1 s windows within 15 % of each other; bounded by ``limit_s``."""
    started = time.monotonic()
    last = asyncio.run(hammer(url, paths, 8, 1.0))["rps"]
    while time.monotonic() - started < limit_s:
        now = asyncio.run(hammer(url, paths, 8, 1.0))["rps"]
        if last > 0 and abs(now - last) / last < 0.15:
            return time.monotonic() - started
        last = now
    return time.monotonic() - started


# --- the queries -----------------------------------------------------------------------------------


def queries(entities: list[dict[str, Any]]) -> dict[str, list[str]]:
    rng = random.Random(7)
    components = [e for e in entities if e["kind"] == "Component"]
    picked = rng.sample(components, min(200, len(components)))
    systems = sorted({str(e["spec"]["system"]) for e in components if e.get("spec", {}).get("system")})
    return {
        "by-name": [
            f"{CATALOG}/entities/by-name/component/{e['metadata'].get('namespace', 'default')}/{e['metadata']['name']}"
            for e in picked
        ],
        "filter=kind=component&limit=100": [f"{CATALOG}/entities?filter=kind=component&limit=100"],
        "filter=kind=component,spec.system=…": [
            f"{CATALOG}/entities?filter=kind=component,spec.system={s}"
            for s in rng.sample(systems, min(50, len(systems)))
        ],
        "by-query kind=api&limit=50": [f"{CATALOG}/entities/by-query?filter=kind=api&limit=50"],
        "entity-facets?facet=kind": [f"{CATALOG}/entity-facets?facet=kind"],
    }


def _shape(name: str, body: Any) -> Any:
    """What both servers must agree on for a query's answer."""
    if name.startswith("entity-facets"):
        return sorted((f["value"], f["count"]) for f in body["facets"]["kind"] if f["value"] != "Location")
    items = body if isinstance(body, list) else body.get("items", [body])
    refs = [f"{e['kind']}:{e['metadata'].get('namespace', 'default')}/{e['metadata']['name']}".lower() for e in items]
    if name.startswith("by-query"):  # without orderField each side pages in an order of its own
        return len(refs), body.get("totalItems")
    return sorted(refs)


async def compare(ours: str, theirs: str, plan: dict[str, list[str]]) -> list[str]:
    problems = []
    for name, paths in plan.items():
        for path in paths[:3]:
            try:
                mine, other = _shape(name, await fetch(ours, path)), _shape(name, await fetch(theirs, path))
            except (OSError, TimeoutError, asyncio.IncompleteReadError, RuntimeError) as exc:
                problems.append(f"{name} {path}: no answer to compare ({exc!r})")
                continue
            if name == "filter=kind=component&limit=100":  # both page the same set; orders may differ
                mine, other = len(mine), len(other)
            if mine != other:
                problems.append(f"{name} {path}: embedded {str(mine)[:200]} vs Backstage {str(other)[:200]}")
    return problems


# --- driver ------------------------------------------------------------------------------------------


def measure(
    size: int,
    levels: list[int],
    seconds: float,
    rounds: int,
    *,
    read_processes: int,
    ours_only: bool,
    processing_seconds: int,
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="read-api-") as tmp:
        work = Path(tmp)
        entities = build_snapshot(size, work)
        state = work / "ours"
        state.mkdir()
        commit_snapshot(entities, state)
        print(f"size {size:,}: {len(entities):,} entities of standard kinds", flush=True)
        ours = OurServer(state, read_processes)
        backstage, stop_backstage = (
            (None, lambda: None)
            if ours_only
            else start_backstage(entities, work, processing_seconds=processing_seconds)
        )
        try:
            plan = queries(entities)
            servers = [("ours", ours.url)] + ([("backstage", backstage.url)] if backstage is not None else [])
            if backstage is not None:
                problems = asyncio.run(compare(ours.url, backstage.url, plan))
                for problem in problems:
                    print("  DIFFERENT ANSWERS:", problem, flush=True)
                if not problems:
                    print("  answers agree on every query", flush=True)
                waited = settle(backstage.url, plan["by-name"])
                print(f"  backstage's by-name rate steady after {waited:.0f} s", flush=True)
            rows = []
            for name, paths in plan.items():
                row: dict[str, Any] = {
                    "size": size,
                    "entities": len(entities),
                    "query": name,
                    "backstage_run": backstage is not None,
                }
                for level in levels:
                    samples: dict[str, list[dict[str, float]]] = {"ours": [], "backstage": []}
                    for _ in range(rounds):
                        for who, url in servers:
                            print(f"    {name} c{level} {who}", end="\r", file=sys.stderr, flush=True)
                            asyncio.run(hammer(url, paths, level, min(0.3, seconds)))  # warm
                            samples[who].append(asyncio.run(hammer(url, paths, level, seconds)))
                    for who in ("ours", "backstage"):
                        got = samples[who] or [{"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}]
                        row[f"{who}_c{level}"] = statistics.median(s["rps"] for s in got)
                        if level == levels[0]:
                            row[f"{who}_p50"] = statistics.median(s["p50_ms"] for s in got)
                            row[f"{who}_p99"] = statistics.median(s["p99_ms"] for s in got)
                print("  " + fmt_row(row, levels), flush=True)
                rows.append(row)
            return rows
        finally:
            ours.stop()
            stop_backstage()


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs > 0 else "n/a (Backstage answered nothing)"


def fmt_row(r: dict[str, Any], levels: list[int]) -> str:
    cells = [f"{r['size']:,}", r["query"]]
    ran = r.get("backstage_run", True)  # --ours-only: no Backstage cells to compare with
    cells += [f"{r[f'backstage_c{c}']:,.0f}" if ran else "-" for c in levels]
    cells += [f"{r[f'ours_c{c}']:,.0f}" for c in levels]
    if ran:
        cells.append(" / ".join(_ratio(r[f"ours_c{c}"], r[f"backstage_c{c}"]) for c in levels))
    else:
        cells.append("Backstage not run (--ours-only)")
    cells.append(f"{r['backstage_p50']:.1f} / {r['ours_p50']:.1f}" if ran else f"- / {r['ours_p50']:.1f}")
    anchor = ANCHORS.get(r["query"])
    cells.append(f"{anchor[0]:,} / {anchor[1]:,}" if anchor and r["size"] == 2000 else "-")
    return "| " + " | ".join(cells) + " |"


def header(levels: list[int]) -> str:
    conc = "/".join(str(c) for c in levels)
    cols = [
        "components",
        "query",
        *[f"Backstage c{c}" for c in levels],
        *[f"embedded c{c}" for c in levels],
        f"embedded ÷ Backstage (c{conc})",
        f"p50 ms at c{levels[0]} (Backstage / embedded)",
        "before (issue 19): Backstage / embedded req/s",
    ]
    return "| " + " | ".join(cols) + " |\n|" + "---:|" * len(cols)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell; the median is shown")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw rows here")
    parser.add_argument(
        "--read-processes", type=int, default=2, help="the daemon's openchoreo.server.readProcesses (0: in-process)"
    )
    parser.add_argument("--ours-only", action="store_true", help="time the embedded catalog alone (no Backstage)")
    parser.add_argument(
        "--backstage-processing-seconds",
        type=int,
        default=BACKSTAGE_PROCESSING_S,
        help="Backstage's catalog.processingInterval (default %(default)s: its own; the e2e tests use 5)",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve, args.read_processes)
        return 0
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.extend(
            measure(
                size,
                levels,
                args.seconds,
                args.rounds,
                read_processes=args.read_processes,
                ours_only=args.ours_only,
                processing_seconds=args.backstage_processing_seconds,
            )
        )
    print()
    print(f"req/s, median of {args.rounds} x {args.seconds:g} s, concurrency {args.concurrency}; pid {os.getpid()}")
    print(header(levels))
    for row in rows:
        print(fmt_row(row, levels))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
