"""The daemon's schedule: hung runs are cancelled at timeout, runs never overlap, stop is clean."""

from __future__ import annotations

import asyncio

from openchoreo_sync import Collection, PluginInfo, Resource, hookimpl


class SlowFamily:
    """A family whose fetch hangs on the first run and is slow afterwards; records overlaps."""

    def __init__(self, hang_first: bool, delay: float) -> None:
        self.hang_first = hang_first
        self.delay = delay
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.cancelled = 0

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="slow test family", kinds=("Thing",))

    @hookimpl
    async def fetch(self, ctx):
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.hang_first and self.calls == 1:
                await asyncio.Event().wait()  # never set: a hung upstream
            await asyncio.sleep(self.delay)
            body = {"metadata": {"name": f"thing-{self.calls}"}}
            return [Collection("things", None, [Resource("Thing", body)])]
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1

    @hookimpl
    def map_resource(self, resource):
        if resource.kind != "Thing":
            return None
        return [
            {
                "apiVersion": "test/v1",
                "kind": "Thing",
                "metadata": {"name": resource.name, "namespace": "default"},
                "spec": {},
            }
        ]


def only_test_family(extra: dict | None = None) -> dict:
    off = {
        name: {"enabled": False}
        for name in ("namespaces", "components", "component_types", "cluster_kinds", "platform_planes", "templates")
    }
    return {"openchoreo": {"plugins": off, **(extra or {})}}


async def test_hung_run_is_cancelled_at_timeout_and_the_next_run_happens(mock_openchoreo, sync_harness_factory):
    family = SlowFamily(hang_first=True, delay=0)
    harness = sync_harness_factory(
        mock_openchoreo.url,
        only_test_family({"schedule": {"frequency": 1, "timeout": 1}}),
        extra_plugins=[("slow", family)],
    )
    await asyncio.wait_for(harness.daemon.schedule(max_runs=2), timeout=20)
    statuses = [r.status for r in harness.store.recent_runs(5)][::-1]
    assert statuses == ["timed_out", "ok"]
    assert family.cancelled == 1
    assert "thing:default/thing-2" in harness.entities()
    record = harness.store.recent_runs(5)[-1]
    assert "openchoreo.schedule.timeout" in record.summary["error"]


async def test_runs_never_overlap_under_a_slow_fetch(mock_openchoreo, sync_harness_factory):
    family = SlowFamily(hang_first=False, delay=1.3)
    harness = sync_harness_factory(
        mock_openchoreo.url,
        only_test_family({"schedule": {"frequency": 1, "timeout": 10}}),
        extra_plugins=[("slow", family)],
    )
    await asyncio.wait_for(harness.daemon.schedule(max_runs=3), timeout=30)
    assert family.calls == 3
    assert family.max_active == 1
    runs = sorted(harness.store.recent_runs(5), key=lambda r: r.started_at)
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later.started_at >= earlier.finished_at


async def test_stop_cancels_the_in_flight_run(mock_openchoreo, sync_harness_factory):
    family = SlowFamily(hang_first=True, delay=0)
    harness = sync_harness_factory(
        mock_openchoreo.url,
        only_test_family({"schedule": {"frequency": 5, "timeout": 60}}),
        extra_plugins=[("slow", family)],
    )
    task = asyncio.create_task(harness.daemon.schedule())
    for _ in range(200):
        if family.active:
            break
        await asyncio.sleep(0.01)
    assert family.active == 1
    harness.daemon.stop_event.set()
    await asyncio.wait_for(task, timeout=5)
    assert family.cancelled == 1
    assert harness.entities() == {}
