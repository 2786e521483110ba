"""Generated and hand-written scaffolder Templates through the ``backstage`` output into a REAL
Backstage (the e2e backend loads the scaffolder entity model): every one ingested, none rejected,
and listed by ``GET /api/catalog/entities?filter=kind=template``. Reuses the session backend."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from openchoreo_sync.mockapi import MockOpenChoreo, World
from tests.support.backstage_backend import STANDARD_KINDS, BackstageBackend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "families"))
from templates_helpers import golden_expected, load_golden_world

pytestmark = pytest.mark.backstage
INGEST_TIMEOUT_S = 45.0


async def test_every_template_is_ingested_by_a_real_backstage(
    backstage_backend: BackstageBackend, sync_harness_factory
):
    bs = backstage_backend
    log_start = len(await asyncio.to_thread(bs.log_text))  # the backend is shared: only our lines count
    with MockOpenChoreo(world=World()) as mock:
        load_golden_world(mock)
        config = {
            "openchoreo": {"plugins": {"backstage": {"enabled": True, "baseUrl": bs.url, "token": bs.token}}},
            "catalog": {"rules": [{"allow": list(STANDARD_KINDS)}]},
        }
        harness = sync_harness_factory(mock.url, config)
        url = await harness.serve()
        result = await harness.run()
        assert result.summary["outputs"] == {"backstage": "full"}, result.summary
        expected = {
            (e["metadata"]["namespace"], e["metadata"]["name"])
            for e in golden_expected(f"{mock.url}/scaffolder-templates")
        }

        refs = {f"template:{namespace}/{name}" for namespace, name in expected}

        def rejections() -> list[str]:
            lines = bs.log_text()[log_start:].splitlines()
            return [line for line in lines if "error" in line.lower() and any(ref in line for ref in refs)]

        def settled() -> str | None:
            """``listed`` once every Template is listed; ``rejected`` as soon as Backstage rejects one."""
            if rejections():
                return "rejected"
            found = {(e["metadata"]["namespace"], e["metadata"]["name"]) for e in bs.entities("kind=template")}
            return "listed" if expected <= found else None

        try:
            outcome = await asyncio.to_thread(bs.wait_for, settled, INGEST_TIMEOUT_S, "every Template listed")
            assert outcome == "listed", await asyncio.to_thread(rejections)
            web = await asyncio.to_thread(bs.entity_by_name, "template", "acme", "template-web-application")
            assert web is not None and web["spec"]["steps"][0]["action"] == "openchoreo:component:create"
            assert web["spec"]["parameters"][2]["properties"]["workloadDetails"]["ui:options"]["ctdSchema"][
                "required"
            ] == ["port"]
            assert not await asyncio.to_thread(rejections)
        finally:
            for location in await asyncio.to_thread(bs.locations):
                if location["target"].startswith(url):
                    await asyncio.to_thread(bs.unregister_location, location["id"])
        await harness.close()
