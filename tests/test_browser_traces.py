"""Journey in a real browser: someone chasing a hallucination from their application's log uploads the
trace file on the Corpus page, then replays the retrieval on Explore (logged ranking before, reranked
after, the logged answer on the first screen). Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import REPO, chromium, log_tail, running_app, skip_without_chromium
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIXTURE = Path(__file__).parent / "fixtures" / "traces" / "support_bot.jsonl"
ARTIFACTS = REPO / "test-artifacts"
PAGE_TIMEOUT_MS = 180_000
IDLE_APP = "[data-testid='stApp'][data-test-script-state='notRunning']"


@pytest.fixture
def app(tmp_path: Path, test_cross_encoder_dir: Path) -> Iterator[tuple[str, Path]]:
    skip_without_chromium()
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    (data_dir / ".demo-ingested").touch()  # no demo ingest: this journey needs no collection at all
    log = tmp_path / "streamlit.log"
    with running_app(data_dir, log, RERANKLENS_RERANKER=str(test_cross_encoder_dir)) as url:
        yield url, log


def idle(page: Page) -> None:
    page.wait_for_selector(IDLE_APP)


def test_upload_a_trace_file_then_replay_it_on_explore(app: tuple[str, Path]) -> None:
    url, log = app
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(f"{url}/corpus")
        idle(page)
        page.get_by_text("Traces: logged retrievals to replay").click()
        idle(page)
        form = page.locator("[data-testid='stForm']").filter(has_text="Trace set name")
        form.locator("input[type='file']").set_input_files(str(FIXTURE))
        idle(page)
        form.get_by_label("Trace set name").fill("support-bot")
        form.get_by_role("button", name="Import traces").click()
        idle(page)
        expect(page.get_by_text("Trace set 'support-bot': 2 traces, 8 candidates")).to_be_visible()

        page.goto(f"{url}/explore?trace=support-bot:chat-0417")
        page.wait_for_selector(".rl-row")
        idle(page)
        answer = page.get_by_text("The link is valid for 24 hours.")
        expect(answer).to_be_visible()
        box = answer.bounding_box()
        assert box is not None and box["y"] + box["height"] < 1000  # on the first screen, no scrolling
        expect(page.get_by_role("heading", name="Logged retrieval (your application)")).to_be_visible()
        expect(page.get_by_text("no text: cannot be reranked").first).to_be_visible()
        logged_first = page.locator(".rl-row").first
        expect(logged_first).to_contain_text("v1.0/password-reset.md")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "trace-replay.png"))
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text and "Error" not in text, log_tail(log)
