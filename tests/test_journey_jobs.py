"""Journey: a trainer starts a long training run on the Models page; a teammate opens the Models page in a
second tab, finds the run under "Jobs on this server", cancels it there, and both tabs say it was
cancelled (one server-side job queue with a visible list and cancel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from journey import in_first_screen, screenshot, wait_idle
from journey_pages import demo_journey, fill_number
from playwright.sync_api import Page, expect

from reranklens.models.registry import ModelRegistry

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 300_000
LONG_RUN = 2_000  # steps: still running when the second tab cancels it


def job_row(page: Page, name: str) -> None:
    """The list's heading scrolled into view (the list sits under the training form) and the job in it."""
    heading = page.get_by_role("heading", name="Jobs on this server")
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_visible()
    expect(page.get_by_text(name, exact=True)).to_be_visible()


def test_a_second_tab_sees_and_cancels_a_running_training(
    page_data_dir: Path, tmp_path: Path, show_log_on_failure
) -> None:
    with demo_journey(page_data_dir, tmp_path, show_log_on_failure, TIMEOUT_MS) as j:
        first = j.page
        first.goto(f"{j.url}/models")
        wait_idle(first)
        fill_number(first, "Steps", LONG_RUN)
        first.get_by_role("button", name="Train").click()
        expect(first.get_by_text("Training demo-reranker")).to_be_visible()

        second = first.context.new_page()  # another tab: its own Streamlit session
        second.goto(f"{j.url}/models")
        wait_idle(second)
        job_row(second, "demo-reranker")
        expect(second.get_by_text("▶️ running", exact=False)).to_be_visible()
        expect(second.get_by_text("local", exact=True)).to_be_visible()  # the owner, without sign-in
        cancel = second.get_by_role("button", name="Cancel", exact=True)
        in_first_screen(cancel)
        screenshot(second, "journey-jobs-running.png")
        cancel.click()

        expect(second.get_by_text("⏹️ cancelled")).to_be_visible()
        expect(second.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
        # the tab that started it: its own status and the list both say so, without a reload
        said = first.get_by_text("Training was cancelled; nothing was saved.")
        expect(said.first).to_be_visible()  # drawn by the rerun of the whole page once the job ended ...
        wait_idle(first)
        expect(said).to_have_count(1)  # ... which, while it runs, may still show the old elements too
        job_row(first, "demo-reranker")
        expect(first.get_by_text("⏹️ cancelled")).to_be_visible()
        assert screenshot(first, "journey-jobs-cancelled.png").stat().st_size > 0

    assert "demo-reranker" not in ModelRegistry(j.data_dir).names()
