"""Journey: a trainer opens the Models page on the demo, keeps its defaults except for a few steps, clicks
Train, and sees the new model in the models list when training ends, without reloading."""

from __future__ import annotations

from pathlib import Path

import pytest
from journey import screenshot, wait_idle
from journey_pages import demo_journey, fill_number, selectbox
from playwright.sync_api import expect

from reranklens.models.registry import ModelRegistry

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Loading the base model, mining, baseline and held-out evaluation of a few steps on a small shared CPU.
TIMEOUT_MS = 600_000


def test_training_with_the_defaults_lists_the_new_model_when_it_ends(
    page_data_dir: Path, tmp_path: Path, show_log_on_failure
) -> None:
    with demo_journey(page_data_dir, tmp_path, show_log_on_failure, TIMEOUT_MS) as j:
        page = j.page
        page.goto(f"{j.url}/models")
        wait_idle(page)
        expect(page.get_by_text("No models yet")).to_be_visible()
        # the demo set grades nothing 0, so the page's own default ticks unjudged candidates as negatives
        expect(page.get_by_role("checkbox", name="Also use unjudged candidates as negatives")).to_be_checked()
        expect(page.get_by_label("Model name")).to_have_value("demo-reranker")
        fill_number(page, "Steps", 2)  # the one change: a short run
        page.get_by_role("button", name="Train").click()
        expect(page.get_by_text("Training demo-reranker")).to_be_visible()

        # no reload: the page refreshes itself when the job ends
        expect(page.get_by_text("finished: held-out verdict")).to_be_visible()
        wait_idle(page)
        expect(page.get_by_text("No models yet")).to_have_count(0)
        expect(selectbox(page, "Model")).to_have_value("demo-reranker")
        expect(page.get_by_role("heading", name="Held-out evaluation", exact=False)).to_be_visible()
        assert screenshot(page, "journey-trainer.png").stat().st_size > 0

    assert ModelRegistry(j.data_dir).get("demo-reranker").card["settings"]["steps"] == 2
