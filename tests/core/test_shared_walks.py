"""One run asks the API for each list page once, however many families read that list.

The types family and the templates family both build entities from every namespace's component
types, project types and resource types (and their cluster-wide lists): a run walks each list
once (``SyncContext.walk`` shares the walk) and hands both families the same answer.
"""

from __future__ import annotations

from collections import Counter

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.harness import SyncHarness

WORLD = WorldSpec(seed=5, namespaces=2, projects=2, components=3, example=True)
FAST = {"openchoreo": {"client": {"timeout": 5, "retries": 0, "backoffBase": 0.01}}}


async def test_every_list_page_is_fetched_once_per_run(tmp_path):
    with MockOpenChoreo(WORLD) as mock:
        h = SyncHarness(mock.url, tmp_path, FAST)
        try:
            result = await h.run()
            assert result.status == "ok"
            requests = Counter((r.method, r.path, r.query) for r in mock.stats.records)
            repeated = {request: n for request, n in requests.items() if n > 1}
            assert not repeated, f"asked more than once in one run: {repeated}"
            kinds = Counter(str(e["kind"]) for e in h.entities().values())
            assert kinds["ComponentType"] > 0 and kinds["Template"] > 0, kinds  # both families read them

            mock.stats.reset()
            assert (await h.run()).status == "ok"
            again = Counter((r.method, r.path, r.query) for r in mock.stats.records)
            assert again == requests, "the next run walks every list again (nothing is kept across runs)"
        finally:
            await h.close()
