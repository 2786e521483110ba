"""Native ingestion benchmark: a real Backstage with ``backstage-module/`` pulling a real daemon.

    python benchmarks/module_ingest.py [--sizes 500,2000] [--edit 0.01]

Per size it syncs a generated world from the mock API (its own process) into a daemon served on
this process's loop, then measures:

* the daemon's pull contract alone: reading the whole snapshot through ``/api/sync/v1/snapshot``
  pages (500 per page), as the provider does;
* a real Backstage backend of ``e2e/backstage`` with the module (installed from the working tree by
  ``e2e/backstage/install-module.sh``): process start until every entity of the snapshot is in its
  catalog (``by-query`` ``totalItems``);
* an upstream edit of ``--edit`` of the components: the daemon's run commit until the first
  edited component shows its new description in Backstage (the change feed, a ``delta`` mutation).

Not part of pytest (minutes per size). Needs Node.js 20 and npm. All processes share the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

TOKEN = "bench-daemon-token-0123456789"
INGEST_TIMEOUT_S = 1800.0
CHANGE_TIMEOUT_S = 120.0


async def read_snapshot(url: str) -> tuple[int, float]:
    started = time.monotonic()
    count, after = 0, ""
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        for _ in range(100_000):
            page = (await client.get("/api/sync/v1/snapshot", params={"after": after, "limit": 500})).json()
            count += len(page["items"])
            if page["nextAfter"] is None:
                break
            after = page["nextAfter"]
    return count, time.monotonic() - started


def catalog_total(bs: Any) -> int:
    resp = bs.request("GET", "/api/catalog/entities/by-query", params={"limit": 1})
    return int(resp.json()["totalItems"]) if resp.status_code == 200 else -1


async def one_size(size: int, edit: float, workdir: Path) -> dict[str, Any]:
    from sync_bench import MockProcess, spec_args

    from openchoreo_sync.testing.harness import SyncHarness
    from tests.support.backstage_backend import BackstageBackend

    mock = MockProcess(spec_args(size), 0)
    harness = SyncHarness(
        mock.url,
        workdir / f"daemon-{size}",
        {"openchoreo": {"server": {"token": TOKEN}, "schedule": {"timeout": 1800}}},
    )
    bs: BackstageBackend | None = None
    try:
        result = await harness.run(trigger="bench")
        assert result.status == "ok", result.summary
        entities = harness.store.count()
        url = await harness.serve()
        read, read_s = await read_snapshot(url)
        assert read == entities, (read, entities)

        config = {"openchoreoSync": {"baseUrl": url, "token": TOKEN, "schedule": {"frequency": 3600, "timeout": 600}}}
        bs = BackstageBackend(extra_config=config, extra_env={"OPENCHOREO_SYNC_MODULE": "1"}, startup_timeout=120)
        started = time.monotonic()
        await asyncio.to_thread(bs.start)
        await asyncio.to_thread(bs.wait_for, lambda: catalog_total(bs) >= entities, INGEST_TIMEOUT_S, "ingest", 1.0)
        ingest_s = time.monotonic() - started

        changed = mock.call("mutate", edit)
        committed = await harness.run(trigger="bench")
        after_commit = time.monotonic()
        ref = next(r for r in committed.changes.changed if r.startswith("component:"))
        kind, rest = ref.split(":", 1)
        namespace, name = rest.split("/")
        wanted = harness.store.load_bodies([ref])[ref]["metadata"].get("description")

        def shows_edit() -> bool:
            entity = bs.entity_by_name(kind, namespace, name) if bs else None
            return bool(entity and entity["metadata"].get("description") == wanted)

        await asyncio.to_thread(bs.wait_for, shows_edit, CHANGE_TIMEOUT_S, "the edit", 0.1)
        edit_s = time.monotonic() - after_commit
        return {
            "size": size,
            "entities": entities,
            "read_s": read_s,
            "ingest_s": ingest_s,
            "edited": changed,
            "edit_s": edit_s,
        }
    finally:
        if bs is not None:
            await asyncio.to_thread(bs.cleanup)
        await harness.close()
        mock.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500", help="comma-separated component counts")
    parser.add_argument("--edit", type=float, default=0.01, help="fraction of components edited upstream")
    args = parser.parse_args()

    from openchoreo_sync.logs import configure_logging

    configure_logging(level="warning")
    subprocess.run(["bash", str(REPO_ROOT / "e2e" / "backstage" / "install.sh")], check=True)
    subprocess.run(["bash", str(REPO_ROOT / "e2e" / "backstage" / "install-module.sh")], check=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="module-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(asyncio.run(one_size(size, args.edit, Path(tmp))))
            r = rows[-1]
            print(
                f"{r['size']:>7} components | {r['entities']:>7} entities | snapshot read {r['read_s']:6.2f} s "
                f"({r['entities'] / r['read_s']:7.0f}/s) | Backstage start -> all ingested {r['ingest_s']:7.1f} s "
                f"({r['entities'] / r['ingest_s']:5.1f}/s) | {r['edited']} edited: commit -> visible {r['edit_s']:5.2f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
