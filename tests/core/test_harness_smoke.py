"""The engine runs end to end against the mock API over HTTP and commits a snapshot."""

from __future__ import annotations


async def test_first_run_commits_a_snapshot(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(mock_openchoreo.url)
    result = await harness.run()
    assert result.status == "ok", result.summary
    stored = harness.entities()
    assert "domain:default/default" in stored
    assert len(stored) == len(result.entities) > 10
    second = await harness.run()
    assert second.changes.empty
