"""The pages in headless Chromium: sign-in, catalog, entity graph, sync health after a mass deletion.

Each test saves a screenshot to ``tests/artifacts/web_ui/`` and fails on any console error.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import ARTIFACTS, TOKEN, Served
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from openchoreo_sync.kit import parse_ref
from openchoreo_sync.plugins.web_ui.links import entity_url

pytestmark = pytest.mark.browser


def console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def open_page(driver: Any, served: Served, path: str, shot: str) -> None:
    driver.get(served.url + path)
    driver.save_screenshot(str(ARTIFACTS / f"{shot}.png"))
    assert console_errors(driver) == []


def wait_for(driver: Any, condition: Any, what: str) -> Any:
    """A form submit or link click navigates asynchronously: poll (bounded) for the next page."""
    return WebDriverWait(driver, 15, poll_frequency=0.05).until(condition, message=what)


def refs_on_page(driver: Any) -> set[str]:
    return {row.get_attribute("data-ref") for row in driver.find_elements(By.CSS_SELECTOR, "#entities tbody tr")}


def test_pages_take_the_token_as_a_bearer_header_and_load_nothing_from_elsewhere(served):
    stored = served.harness.entities()
    ref = sorted(stored)[0]
    bearer = {"authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert client.get("/ui").status_code == 401
        assert client.get("/ui", headers={"authorization": "Bearer nope"}).status_code == 401
        page = client.get("/ui", headers=bearer)
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
        assert "http://" not in page.text.replace(served.url, "") and "https://" not in page.text
        assert client.get(entity_url("/ui", ref), headers=bearer).status_code == 200
        assert client.get("/ui/entity/component/nowhere/nothing", headers=bearer).status_code == 404
        assert client.get("/ui/static/style.css").status_code == 200
        bad = client.post("/ui/login?next=//evil.example/", content=f"token={TOKEN}", follow_redirects=False)
        assert bad.status_code == 303 and bad.headers["location"] == "/ui"
        assert client.get("/api/catalog/entities").status_code == 401, "the catalog API keeps its own check"


def test_signing_in_with_the_server_token(browser, served):
    browser.get(served.url + "/ui/sync")
    assert "Sign in" in browser.find_element(By.TAG_NAME, "h1").text
    console_errors(browser)  # the 401 of the sign-in page itself is logged by Chromium; that is the point
    field = browser.find_element(By.ID, "token")
    field.send_keys("wrong-token")
    field.submit()
    assert wait_for(browser, lambda d: d.find_elements(By.ID, "login-error"), "the refusal")[0].is_displayed()
    console_errors(browser)
    field = browser.find_element(By.ID, "token")
    field.send_keys(TOKEN)
    field.submit()
    wait_for(browser, lambda d: d.current_url.endswith("/ui/sync"), "back where the sign-in started")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sync health"
    browser.save_screenshot(str(ARTIFACTS / "signed-in.png"))
    assert console_errors(browser) == []
    assert TOKEN not in browser.page_source


def test_catalog_lists_the_mock_worlds_entities(browser, served):
    stored = served.harness.entities()
    open_page(browser, served, "/ui", "catalog")
    assert refs_on_page(browser) == set(stored)
    assert browser.find_element(By.ID, "total").text == f"{len(stored)} entities"

    kind_facet = browser.find_element(By.CSS_SELECTOR, "[data-facet=kind]")
    kind_facet.find_element(By.PARTIAL_LINK_TEXT, "component").click()
    wait_for(browser, lambda d: "kind=component" in d.current_url, "the filtered page")
    components = {ref for ref, e in stored.items() if e["kind"] == "Component"}
    assert refs_on_page(browser) == components
    kinds = browser.find_elements(By.CSS_SELECTOR, "[data-facet=kind] .facet-value")
    assert len(kinds) == len({e["kind"] for e in stored.values()}), "other kinds stay on offer"
    browser.save_screenshot(str(ARTIFACTS / "catalog-components.png"))

    name = parse_ref(sorted(components)[0])[2]
    search = browser.find_element(By.ID, "q")
    search.send_keys(name)
    search.submit()
    wait_for(browser, lambda d: "q=" in d.current_url, "the search results")
    found = refs_on_page(browser)
    assert sorted(components)[0] in found and found <= components
    assert console_errors(browser) == []


def test_entity_page_draws_its_neighbours(browser, served):
    stored = served.harness.entities()
    ref = next(ref for ref in sorted(stored) if ref.startswith("component:") and len(stored[ref]["relations"]) >= 3)
    neighbours = {r["targetRef"] for r in stored[ref]["relations"]}
    open_page(browser, served, entity_url("/ui", ref), "entity")
    assert browser.find_element(By.ID, "entity-ref").text == ref
    drawn = {a.get_attribute("data-ref") for a in browser.find_elements(By.CSS_SELECTOR, "#graph a.node-link")}
    assert drawn == neighbours & set(stored)
    listed = {a.text for a in browser.find_elements(By.CSS_SELECTOR, "#relations td a")}
    assert listed == neighbours

    browser.find_element(By.ID, "depth-2").click()
    wait_for(browser, lambda d: d.current_url.endswith("?depth=2"), "the depth-2 graph")
    browser.save_screenshot(str(ARTIFACTS / "entity-depth-2.png"))
    second = {a.get_attribute("data-ref") for a in browser.find_elements(By.CSS_SELECTOR, "#graph a.node-link")}
    beyond = {r["targetRef"] for n in neighbours if n in stored for r in stored[n]["relations"]} - {ref}
    assert second == (neighbours | beyond) & set(stored)
    assert console_errors(browser) == []

    system = next(n for n in sorted(neighbours) if n.startswith("system:"))
    browser.find_element(By.CSS_SELECTOR, f'#graph a.node-link[data-ref="{system}"]').click()
    wait_for(browser, lambda d: d.find_element(By.ID, "entity-ref").text == system, "the system's page")


def test_sync_page_shows_a_guarded_run_after_a_mass_deletion(browser, served):
    open_page(browser, served, "/ui/sync", "sync-healthy")
    assert browser.find_element(By.ID, "last-status").text == "ok"
    assert browser.find_elements(By.CSS_SELECTOR, "section.guarded") == []
    world = served.mock.world
    # All but one of every namespace's projects, components, workloads and environments (a collection
    # emptied completely is held by the empty-collection check instead, a different safety net).
    for namespace in world.namespaces():
        for collection in ("components", "projects", "workloads", "environments"):
            for item in world.items(collection, namespace)[1:]:
                world.delete(collection, namespace, item["metadata"]["name"])
    guarded = served.call(served.harness.run())
    assert guarded.status == "guarded", guarded.summary

    open_page(browser, served, "/ui/sync", "sync-guarded")
    assert browser.find_element(By.ID, "last-status").text == "guarded"
    section = browser.find_element(By.ID, f"guarded-{guarded.run_id}")
    assert f"would have removed {len(guarded.summary['planned_removals'])} entities" in section.text
    command = section.find_element(By.ID, f"approve-{guarded.run_id}").text
    assert command == f"openchoreo-sync approve-deletions -c app-config.yaml {guarded.run_id}"
    row = browser.find_element(By.CSS_SELECTOR, f'#runs tr[data-run="{guarded.run_id}"]')
    assert row.get_attribute("data-status") == "guarded"
    first = browser.find_element(By.CSS_SELECTOR, f'#runs tr[data-run="{served.harness.results[0].run_id}"]')
    assert "fetch" in first.find_element(By.CSS_SELECTOR, ".phases").text
    section.find_element(By.CSS_SELECTOR, "button.copy").click()
    assert console_errors(browser) == []

    served.harness.store.approve(guarded.run_id)  # what approve-deletions does
    applied = served.call(served.harness.run())
    assert applied.status == "ok" and applied.changes.removed, applied.summary
    open_page(browser, served, "/ui", "catalog-after-removals")
    assert refs_on_page(browser) == set(served.harness.entities()), "a commit shows at the next page load"
    assert browser.find_element(By.ID, "total").text == f"{len(served.harness.entities())} entities"
    open_page(browser, served, "/ui/sync", "sync-applied")
    assert browser.find_element(By.ID, "last-status").text == "ok"
    assert browser.find_elements(By.CSS_SELECTOR, "section.guarded") == []
