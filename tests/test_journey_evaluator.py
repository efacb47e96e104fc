"""Journey: an evaluator runs an evaluation on the demo, reloads the page, and finds the result and the
saved run still there. Offline, so the +rerank pipelines are not preselected."""

from __future__ import annotations

from pathlib import Path

import pytest
from journey import screenshot, wait_idle
from journey_pages import demo_journey
from playwright.sync_api import expect

from reranklens.evaluate.runs import RunStore

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 300_000


def test_a_reload_shows_the_last_result_and_the_saved_run(
    page_data_dir: Path, tmp_path: Path, show_log_on_failure
) -> None:
    with demo_journey(page_data_dir, tmp_path, show_log_on_failure, TIMEOUT_MS) as j:
        page = j.page
        page.goto(f"{j.url}/evaluate")
        wait_idle(page)
        expect(page.get_by_text("+rerank pipelines are not selected")).to_be_visible()
        label = page.get_by_label("Run label (optional)")
        label.fill("journey run")
        label.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Run evaluation").click()
        expect(page.get_by_text("saved as run #1")).to_be_visible()
        wait_idle(page)
        # a click inside a lower section reruns the page; the section stays where it was, open
        page.get_by_role("heading", name="Saved runs").scroll_into_view_if_needed()
        page.get_by_role("button", name="Run the latency-vs-quality sweep").click()
        wait_idle(page)
        expect(page.locator("[data-testid='stPlotlyChart']").last).to_be_visible()
        expect(page.get_by_role("heading", name="Saved runs")).to_be_visible()

        page.reload()
        wait_idle(page)
        expect(page.get_by_text("Showing the last saved run (#1)")).to_be_visible()
        expect(page.get_by_role("heading", name="Metrics")).to_be_visible()
        expect(page.get_by_role("heading", name="Saved runs")).to_be_visible()
        expect(page.get_by_text("nDCG@10 of each pipeline in each saved run")).to_be_visible()
        assert screenshot(page, "journey-evaluator.png").stat().st_size > 0

    [run] = RunStore(j.data_dir / "runs.sqlite").list()
    assert run.label == "journey run" and list(run.result["pipelines"]) == ["vector", "bm25", "hybrid"]
