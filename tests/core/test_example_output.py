"""The example third-party output (``tests/example_plugin``, entry point ``example_output``), on the kit only.

It keeps state across runs with ``ctx.instance``, reads the committed catalog through
``ctx.catalog`` and serves a route behind the server token: what any output plugin needs.
"""

from __future__ import annotations

from collections import Counter

import httpx

TOKEN = "t0ken-example-output"


async def test_example_output_serves_a_summary_of_the_committed_catalog(mock_openchoreo, sync_harness_factory):
    harness = sync_harness_factory(
        mock_openchoreo.url,
        {"openchoreo": {"plugins": {"example_output": {"enabled": True}}, "server": {"token": TOKEN}}},
    )
    url = await harness.serve()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient() as http:
        before = await http.get(url + "/api/example/summary", headers=auth)
        assert before.status_code == 503 and before.json()["error"]["name"] == "ServiceUnavailableError"
        first = await harness.run()
        second = await harness.run()
        denied = await http.get(url + "/api/example/summary")
        summary = (await http.get(url + "/api/example/summary", headers=auth)).json()
    assert denied.status_code == 401
    assert summary["kinds"] == dict(Counter(e["kind"] for e in harness.entities().values()))
    assert summary["version"] == second.run_id
    # Emitted once: the second run changed nothing, so the output was not called again.
    assert summary["emits"] == 1 and summary["lastRun"] == first.run_id
    assert summary["lastChanges"]["added"] == len(first.entities)
