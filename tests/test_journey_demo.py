"""Journey "demo": a new user opens the app on a fresh data dir and, on the first
1500x1000 screen without scrolling, sees the story: the summary numbers, the top-3 before and
after, and the slope chart. No reranker is configured, as on a fresh offline clone: the page
compares vector search (before) with hybrid search (after) and says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from journey import in_first_screen, journey, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_first_screen_tells_the_story(tmp_path: Path) -> None:
    with journey(tmp_path, HF_HUB_OFFLINE="1") as trip:
        page = trip.page
        page.goto(trip.url)
        page.wait_for_selector(".rl-row")
        wait_idle(page)
        assert page.evaluate("window.scrollY") == 0

        # The summary's four, then the demo golden set's four figures for this query (nDCG@10, R@3, ...).
        metrics = page.locator("[data-testid='stMetric']")
        expect(metrics).to_have_count(8)
        for index, label in enumerate(["Candidates", "Entered top-3", "Left top-3", "Total latency"]):
            expect(metrics.nth(index)).to_contain_text(label)
            in_first_screen(metrics.nth(index))
        expect(metrics.nth(0).locator("[data-testid='stMetricValue']")).to_have_text("50")

        top_k = page.locator("table.rl-topk")
        expect(top_k.locator("tbody tr")).to_have_count(3)
        expect(top_k.locator("thead")).to_contain_text("Before: Vector search top-3")
        expect(top_k.locator("thead")).to_contain_text("After: Hybrid (vector + BM25) top-3")
        expect(top_k.locator(".rl-entered_top_k").first).to_contain_text("entered, from #")
        in_first_screen(top_k)

        slope = page.locator(".st-key-rl-story-slope .js-plotly-plot")
        expect(slope).to_be_visible()
        expect(slope).to_contain_text("What moved in the top-3")
        in_first_screen(slope)
        in_first_screen(page.locator(".rl-legend"))
        expect(page.get_by_text("No cross-encoder available: comparing Vector search (before)")).to_be_visible()
        # Finding 4: the configured Hub model cannot load offline, and the picker says so.
        expect(page.get_by_role("combobox", name="Reranker")).to_have_value(re.compile(r"\(not on this machine\)$"))

        # The columns show the top 10 until asked for all 50.
        expect(page.locator(".rl-left .rl-row")).to_have_count(10)
        screenshot(page, "journey-demo.png")
        # Finding 9: no "Deploy" button in the toolbar.
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
        page.get_by_text("Show all 50 candidates").click()
        expect(page.locator(".rl-left .rl-row")).to_have_count(50)
        expect(page.locator(".rl-right .rl-row")).to_have_count(50)
        wait_idle(page)
