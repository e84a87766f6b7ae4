"""The Dagster UI of the running instance, in headless Chromium: asset graph, partitions, pictures."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
CHROMIUM = "/usr/bin/chromium"
UI_TIMEOUT_MS = 30_000  # actions and assertions alike: the UI renders slowly on a loaded 2-core machine
expect.set_options(timeout=UI_TIMEOUT_MS)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(dagster_dev) -> Iterator[Page]:
    """A fresh Chromium profile on the instance. The community sign-up dialog shows once, after a
    delay that grows with the machine's load: a locator handler skips it whenever it appears
    before an action or an assertion, instead of waiting for it a fixed time."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        context.set_default_timeout(UI_TIMEOUT_MS)
        page = context.new_page()
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        try:
            yield page
        finally:
            context.close()


def test_asset_graph_renders(page, dagster_dev, artifacts):
    page.goto(f"{dagster_dev.url}/assets/plume_catalog?view=lineage")
    for asset in ("plume_catalog", "plume_products", "scene_crops", "warehouse"):
        expect(page.get_by_text(asset, exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "asset-graph.png"))


def test_catalog_partitions_render(page, dagster_dev, materialized_day, artifacts):
    """The list is virtualized and starts at today's partition: the day is reached by its URL and
    by the filter box, never by scrolling."""
    day = materialized_day["day"]
    page.goto(f"{dagster_dev.url}/assets/plume_catalog?view=partitions&partition={day}")
    expect(page.get_by_text("Materialized (", exact=False).first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Materialized (0)")
    expect(page.get_by_text(materialized_day["run_id"][:8]).first).to_be_visible()  # its latest run
    page.get_by_placeholder("Filter by", exact=False).first.fill(day)
    expect(page.get_by_text(day, exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "plume-catalog-partitions.png"))


def test_materialization_pictures_render(page, dagster_dev, materialized_day, artifacts):
    """The picture of the materialized day's own event (other tests' runs may be newer)."""
    page.goto(f"{dagster_dev.url}/assets/plume_products?view=partitions&partition={materialized_day['day']}")
    page.get_by_text("[Show Markdown]").first.click()
    picture = page.locator("img[src^='data:image/png']").first
    expect(picture).to_be_visible()
    width, height = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 50 and height > 50  # decoded, not a broken image
    page.screenshot(path=str(artifacts / "plume-products-picture.png"))
