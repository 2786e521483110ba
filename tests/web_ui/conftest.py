"""One daemon and one headless Chromium for the whole module: the pages as a person sees them.

The daemon (mock OpenChoreo API, real engine, SQLite store, HTTP server with a token) runs on its
own event loop in a background thread, so the blocking WebDriver calls of the tests never stall
it; tests run coroutines on that loop with ``served.call``. Screenshots go to
``tests/artifacts/web_ui/`` (ignored by git). Chromium and its driver are Debian's
(``chromium``, ``chromium-driver``), installed by ``scripts/test``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.harness import SyncHarness

T = TypeVar("T")
TOKEN = "canary-server-token-Hb4Nm8Rt1Ys6"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web_ui"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SPEC = WorldSpec(seed=11, namespaces=1, projects=2, components=3, example=True)


@dataclass
class Served:
    mock: MockOpenChoreo
    harness: SyncHarness
    url: str
    loop: asyncio.AbstractEventLoop

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="web-ui-daemon", daemon=True)
    thread.start()
    state = tmp_path_factory.mktemp("web_ui")
    with MockOpenChoreo(SPEC) as mock:

        async def start() -> tuple[SyncHarness, str]:
            overrides = {
                "openchoreo": {
                    "server": {"token": TOKEN},
                    "safety": {"deletionGraceRuns": 1, "maxDeletionRatio": 0.1},
                    "plugins": {"web_ui": {"pageSize": 1000}},
                }
            }
            harness = SyncHarness(mock.url, state, overrides)
            result = await harness.run()
            assert result.status == "ok", result.summary
            return harness, await harness.serve()

        harness, url = asyncio.run_coroutine_threadsafe(start(), loop).result(120)
        served = Served(mock, harness, url, loop)
        try:
            yield served
        finally:
            served.call(harness.close())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: scripts/test installs them")
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="web-ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1440,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
