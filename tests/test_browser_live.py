"""Journey in a real browser: a developer connects their application's live retriever on the Corpus page (its
bearer token typed into a password field, never shown again), opens it on Explore (their ranking before, the
reranker after) and grades one of its candidates on Label. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from app_server import skip_without_chromium
from journey import screenshot, wait_idle
from journey_pages import journey
from playwright.sync_api import expect
from stub_server import LoopbackStubServer
from test_live_retriever import GOOD, SECRET, stub

from components.shared.connection_choice import LIVE_NOTE
from reranklens.config import Settings
from reranklens.retrieve.traces import candidate_chunk_id
from reranklens.workspace import Workspace

__all__ = ["stub"]  # the local retriever fixture
pytestmark = [pytest.mark.browser, pytest.mark.slow]
PAGE_TIMEOUT_MS = 180_000
QUERY = "How do I reset my password?"


def test_connect_a_retriever_then_explore_and_grade_it(
    tmp_path: Path, stub: LoopbackStubServer, test_cross_encoder_dir: Path
) -> None:
    skip_without_chromium()
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    (data_dir / ".demo-ingested").touch()  # no collection at all: the retriever is the only first stage
    log = tmp_path / "streamlit.log"
    with journey(data_dir, log, PAGE_TIMEOUT_MS, RERANKLENS_RERANKER=str(test_cross_encoder_dir)) as j:
        page = j.page
        page.goto(f"{j.url}/corpus")
        wait_idle(page)
        page.get_by_text("Connect a retriever (your application's live first stage)").click()
        wait_idle(page)
        form = page.locator("[data-testid='stForm']").filter(has_text="Endpoint URL")
        form.get_by_label("Endpoint URL").fill(f"http://127.0.0.1:{stub.port}/good")
        form.get_by_label("Name").fill("app")
        form.get_by_label("Header (optional)").fill("Authorization")
        form.get_by_label("Header value").fill(SECRET)
        form.get_by_role("button", name="Connect").click()
        wait_idle(page)
        expect(page.get_by_text("Connected 'app'")).to_be_visible()
        expect(form.get_by_label("Header value")).to_have_value("")  # once kept, the secret leaves the form
        wait_idle(page)
        assert SECRET not in page.content()

        page.goto(f"{j.url}/explore?" + urlencode({"collection": "live:app", "q": QUERY}))
        page.wait_for_selector(".rl-row")
        wait_idle(page)
        expect(page.get_by_role("heading", name="Your retriever (live)")).to_be_visible()
        expect(page.locator("[data-testid='stSidebar']").get_by_text(LIVE_NOTE)).to_be_visible()
        expect(page.locator(".rl-row").first).to_contain_text("Open Settings")
        assert stub.requests[-1]["headers"]["Authorization"] == SECRET
        screenshot(page, "live-retriever-explore.png")

        page.get_by_role("button", name="🏷️ Label this query").click()
        page.wait_for_selector(".rl-row")
        wait_idle(page)
        chunk = page.locator(".rl-row").first.get_attribute("data-chunk") or ""
        page.locator("[data-testid='stButtonGroup']").first.get_by_role("radio", name="3", exact=True).click()
        expect(page.locator("[data-testid='stMetric']", has_text="Judged (chunk level)")).to_contain_text("1")
        wait_idle(page)
        screenshot(page, "live-retriever-label.png")
    judgements = Workspace(Settings(data_dir=data_dir)).golden.judgements("my-labels")
    assert [(judgement.target_id, judgement.grade) for judgement in judgements] == [(chunk, 3)]
    assert chunk in {candidate_chunk_id(c["id"], c["text"]) for c in GOOD}  # type: ignore[arg-type]
