"""Every run outcome is recorded with per-kind counts, failures and the change set, and
``openchoreo-sync status`` (a subprocess on the same state store) shows them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import yaml
from safety_helpers import FAST_CLIENT, SMALL

from openchoreo_sync import PluginInfo, hookimpl
from openchoreo_sync.mockapi import MockOpenChoreo, build_world
from openchoreo_sync.testing.harness import SyncHarness, deep_merge

NS = build_world(SMALL).namespaces()[0]
CLI = str(Path(sys.executable).parent / "openchoreo-sync")


def status(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "status", "--config", str(config), "--limit", "20", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class HangingFamily:
    """A family with nothing to fetch, whose fetch can be made to hang (a plugin stuck outside the client).

    A hung API request no longer times a run out: its collection fails alone at
    ``openchoreo.client.collectionTimeout`` (issue 13). A hung plugin still does, and that is the
    ``timed_out`` outcome this test records.
    """

    hang = False

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="a family whose fetch can hang", kinds=("Thing",))

    @hookimpl
    async def fetch(self, ctx):
        if self.hang:
            await asyncio.Event().wait()  # never set
        return []


async def test_every_outcome_is_recorded_and_shown_by_status(tmp_path: Path):
    with MockOpenChoreo(SMALL) as mock:
        # The whole run may take 3 s; a plugin fetch that hangs times the run out.
        overrides = deep_merge(FAST_CLIENT, {"openchoreo": {"schedule": {"timeout": 3}}})
        hanging = HangingFamily()
        harness = SyncHarness(mock.url, tmp_path / "daemon", overrides, extra_plugins=[("hanging", hanging)])
        outcomes: dict[str, str] = {}
        try:
            ok = await harness.run()
            outcomes[ok.status] = ok.run_id

            mock.faults.fail(f"^/api/v1/namespaces/{NS}/traits$", 500)
            partial = await harness.run()
            mock.faults.reset()
            outcomes[partial.status] = partial.run_id

            mock.faults.set_failure_rate(1.0)
            failed = await harness.run()
            mock.faults.reset()
            outcomes[failed.status] = failed.run_id

            hanging.hang = True
            timed_out = await harness.run()
            hanging.hang = False
            outcomes[timed_out.status] = timed_out.run_id

            for name in mock.world.namespaces():
                mock.world.delete("namespaces", "", name)
            guarded = await harness.run()
            outcomes[guarded.status] = guarded.run_id
        finally:
            await harness.close()

        assert set(outcomes) == {"ok", "partial", "failed", "timed_out", "guarded"}, outcomes

        config = tmp_path / "app-config.yaml"
        config.write_text(yaml.safe_dump(harness.config_data))
        shown = status(config, "--json")
        assert shown.returncode == 0, shown.stderr
        records = {r["run_id"]: r for r in json.loads(shown.stdout)}
        for outcome, run_id in outcomes.items():
            record = records[run_id]
            assert record["status"] == outcome
            assert record["finished_at"], record
            summary = record["summary"]
            assert isinstance(summary.get("counts"), dict), (outcome, summary)
            assert set(summary.get("changes", {})) == {"added", "changed", "removed"}, (outcome, summary)
            assert "failed_collections" in summary and "failed_families" in summary, (outcome, summary)

        by_status = {outcome: records[run_id]["summary"] for outcome, run_id in outcomes.items()}
        assert by_status["ok"]["counts"]["Component"] == 2
        # 40 entities of the other families, and the 12 scaffolder Templates of its 12 types
        assert by_status["ok"]["counts"]["Template"] == 12
        assert by_status["ok"]["changes"]["added"] == 52
        assert by_status["partial"]["failed_collections"] == {
            f"component_types:{NS}/traits": by_status["partial"]["failed_collections"][f"component_types:{NS}/traits"]
        }
        assert "500" in next(iter(by_status["partial"]["failed_collections"].values()))
        assert by_status["failed"]["failed_families"] or by_status["failed"]["failed_collections"]
        assert by_status["failed"]["changes"] == {"added": 0, "changed": 0, "removed": 0}
        assert "timeout" in by_status["timed_out"]["error"]
        assert by_status["timed_out"]["changes"] == {"added": 0, "changed": 0, "removed": 0}
        assert by_status["guarded"]["guard"] and by_status["guarded"]["planned_removals"]
        assert by_status["guarded"]["changes"] == {"added": 0, "changed": 0, "removed": 0}
        assert by_status["guarded"]["counts"].get("Domain", 0) == 0

        text = status(config)
        assert text.returncode == 0, text.stderr
        for outcome, run_id in outcomes.items():
            line = next(line for line in text.stdout.splitlines() if line.startswith(run_id))
            assert outcome in line, (outcome, line)
        assert f"failed component_types:{NS}/traits" in text.stdout
        assert f"to apply: openchoreo-sync approve-deletions {outcomes['guarded']}" in text.stdout
        assert "openchoreo.schedule.timeout" in text.stdout
