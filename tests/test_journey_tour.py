"""Journey "tour": a stakeholder opens the guided tour on a fresh, offline app and steps through every stop
with Next. On each stop the first 1500x1000 screen shows the stop's caption and the top-3 before and after,
the answer marked with its demo-hard grade and the "Best-graded chunk" line; the page that answers the
question is missing from vector search's top-3 and present in the "after" top-3 (hybrid search, the second
stage available offline, which the tour says plainly)."""

from __future__ import annotations

from pathlib import Path

import pytest
from journey import in_first_screen, journey, screenshot, wait_idle
from playwright.sync_api import expect

from reranklens.views.tour import load_tour

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_walk_the_tour_with_next(tmp_path: Path) -> None:
    tour = load_tour()
    with journey(tmp_path, HF_HUB_OFFLINE="1") as trip:
        page = trip.page
        page.goto(f"{trip.url}/?tour=1")
        page.wait_for_selector("table.rl-topk")
        wait_idle(page)
        panel = page.locator(".st-key-rl-tour")
        for number, stop in enumerate(tour.stops, start=1):
            expect(panel).to_contain_text(f"Stop {number} of {len(tour.stops)}")
            expect(panel).to_contain_text(stop.caption[:60])
            expect(page.get_by_label("Query")).to_have_value(stop.query)
            expect(page.get_by_text("Second stage: Hybrid (vector + BM25), because no cross-encoder")).to_be_visible()
            top_k = page.locator("table.rl-topk")
            in_first_screen(top_k)
            in_first_screen(panel)
            before = top_k.locator("tbody td:nth-child(1)")
            after = top_k.locator("tbody td:nth-child(2)")
            expect(before).to_have_count(3)
            before_texts, after_texts = before.all_inner_texts(), after.all_inner_texts()
            assert all(stop.answer not in text for text in before_texts), (stop.query, before_texts)
            assert any(stop.answer in text for text in after_texts), (stop.query, after_texts)
            # demo-hard's judgements mark the answer: a grade badge in the after top-3, and the Best-graded line.
            expect(after.locator(".rl-grade:not(.rl-unjudged)").first).to_be_visible()
            best = page.locator(".rl-best-graded")
            expect(best).to_contain_text("Best-graded chunk: #")
            expect(best).to_contain_text(stop.answer)
            if number == 1:
                screenshot(page, "journey-tour.png")
                expect(panel.get_by_role("button", name="◀ Previous")).to_be_disabled()
            if number < len(tour.stops):
                panel.get_by_role("button", name="Next ▶").click()
                expect(page.get_by_label("Query")).to_have_value(tour.stops[number].query)
                page.wait_for_selector("table.rl-topk")
                wait_idle(page)
        expect(panel.get_by_role("button", name="Next ▶")).to_be_disabled()
        panel.get_by_role("button", name="◀ Previous").click()
        expect(page.get_by_label("Query")).to_have_value(tour.stops[-2].query)
        wait_idle(page)
