"""One run asks the API for each list page once, however many families read that list.

The types family and the templates family both build entities from every namespace's component
types, project types and resource types (and their cluster-wide lists): a run walks each list
once (``SyncContext.walk`` shares the walk) and hands both families the same answer.
"""

from __future__ import annotations

from collections import Counter

import structlog

from openchoreo_sync import SyncContext
from openchoreo_sync.client import OpenChoreoClient
from openchoreo_sync.config import AppConfig
from openchoreo_sync.context import SHARED_WALK_ITEMS
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


async def test_a_finished_big_list_is_not_kept_for_the_rest_of_the_run():
    """Small finished walks are kept for later callers; big ones go once mapped (peak memory)."""
    spec = WorldSpec(seed=5, namespaces=1, projects=3, components=SHARED_WALK_ITEMS // 3 + 10, example=False)
    with MockOpenChoreo(spec) as mock:
        namespace = max(mock.world.namespaces(), key=lambda ns: len(mock.world.items("components", ns)))
        assert len(mock.world.items("components", namespace)) > SHARED_WALK_ITEMS
        config = AppConfig.model_validate(
            {"openchoreo": {"baseUrl": mock.url, "features": {"auth": {"enabled": False}}, "client": {"retries": 0}}}
        )
        async with OpenChoreoClient(config.openchoreo) as client:
            ctx = SyncContext(run_id="walks", config=config, log=structlog.get_logger(), client=client)
            big = f"/api/v1/namespaces/{namespace}/components"
            small = f"/api/v1/namespaces/{namespace}/projects"
            for _ in range(2):
                assert (await ctx.walk("components", big, kind="Component", namespace=namespace)).ok
                assert (await ctx.walk("projects", small, kind="Project", namespace=namespace)).ok
        pages = -(-len(mock.world.items("components", namespace)) // 100)
        assert mock.stats.count(big) == 2 * pages, "a big list is walked again rather than held"
        assert mock.stats.count(small) == 1, "a small finished list is kept for the run"
