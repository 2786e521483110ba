"""Directory sync cost: a Thunder directory of N users read, resolved, mapped and committed.

Run on demand: ``python benchmarks/identities.py [--users 5000] [--groups 500]``. Only the
identities family runs (the OpenChoreo families are disabled); prints the first run (reads the
directory), a run within ``thunder.schedule.frequency`` (keeps it unchanged, no directory read)
and the request count. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from openchoreo_sync.logs import configure_logging
from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.mockapi.thunder import _group, build_directory, stable_id
from openchoreo_sync.testing import SyncHarness

FAMILIES = ("namespaces", "components", "component_types", "cluster_kinds", "platform_planes", "templates")


async def main(users: int, groups: int) -> None:
    configure_logging("console", "warning")
    directory = build_directory(extra_users=users)
    per_group = max(1, users // groups)
    for g in range(groups):
        members = [(stable_id("user", f"user{i:02d}"), "user") for i in range(g * per_group, (g + 1) * per_group)]
        directory.put_group(_group(f"Team {g}", members))
    with MockOpenChoreo(WorldSpec(namespaces=0), directory=directory) as mock, tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "openchoreo": {"plugins": {name: {"enabled": False} for name in FAMILIES}},
            "thunder": {"baseUrl": mock.thunder_url},
        }
        harness = SyncHarness(mock.url, Path(tmp), overrides)
        try:
            started = time.perf_counter()
            first = await harness.run()
            read = time.perf_counter() - started
            requests = mock.stats.count()
            started = time.perf_counter()
            second = await harness.run()
            kept = time.perf_counter() - started
        finally:
            await harness.close()
    counts = first.summary["counts"]
    print(f"directory: {counts.get('User', 0)} users, {counts.get('Group', 0)} groups ({first.status})")
    print(f"first run (read + resolve + map + commit): {read:.2f} s, {requests} requests")
    print(
        f"run within thunder.schedule.frequency (kept unchanged): {kept:.2f} s ({second.status}, "
        f"{second.summary['unchanged']} entities kept, {mock.stats.count() - requests} requests)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.groups))
