"""Journey: a person browses the demo collection's chunks page by page, then deletes a scratch collection,
which happens only after they confirm."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_server import skip_without_chromium
from journey import screenshot, wait_idle
from journey_pages import choose, fill_number, fresh_data_dir, journey
from playwright.sync_api import expect

from reranklens.config import Settings
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 180_000
DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"


def test_browse_the_demo_and_delete_a_scratch_collection(
    page_data_dir: Path, tmp_path: Path, show_log_on_failure
) -> None:
    skip_without_chromium()
    data_dir = fresh_data_dir(page_data_dir, tmp_path)
    Workspace(Settings(data_dir=data_dir)).ingest([DOCS], "scratch")
    pages = -(-Workspace(Settings(data_dir=data_dir)).store.info("demo").chunk_count // 20)
    log = tmp_path / "streamlit.log"
    show_log_on_failure(log)
    with journey(data_dir, log, TIMEOUT_MS) as j:
        page = j.page
        page.goto(f"{j.url}/corpus")
        wait_idle(page)
        choose(page, "Collection to browse", "demo")
        expect(page.get_by_text(f"Page 1 of {pages} · 20 chunks a page.")).to_be_visible()
        fill_number(page, "Page", 2)
        expect(page.get_by_text(f"Page 2 of {pages} · 20 chunks a page.")).to_be_visible()
        page.get_by_role("heading", name="Browse chunks").scroll_into_view_if_needed()
        assert screenshot(page, "journey-corpus-browse.png").stat().st_size > 0

        choose(page, "Collection to delete", "scratch")
        page.get_by_role("button", name="Delete this collection…").click()
        expect(page.get_by_text("Delete the collection 'scratch' and all its chunks?")).to_be_visible()
        wait_idle(page)
        page.get_by_role("button", name="Yes, delete 'scratch'").click()
        expect(page.get_by_text("Collection 'scratch' deleted.")).to_be_visible()
        wait_idle(page)
        screenshot(page, "journey-corpus-deleted.png")

    assert "scratch" not in Workspace(Settings(data_dir=data_dir)).store.names()
    assert "demo" in Workspace(Settings(data_dir=data_dir)).store.names()
