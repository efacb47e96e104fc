"""Journeys in a real browser: someone chasing a hallucination from their application's log uploads the
trace file on the Corpus page, then replays the retrieval on Explore (logged ranking before, reranked
after, the logged answer on the first screen), or scores the logged rankings on Evaluate. Screenshots go
to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import REPO, chromium, log_tail, running_app, skip_without_chromium
from journey import screenshot
from journey_pages import choose, fresh_data_dir, journey
from playwright.sync_api import Page, expect

from components.evaluate.targets import TRACE_NOTE
from reranklens.config import Settings
from reranklens.evaluate.pipelines import TRACE_PIPELINES, EvalConfig, EvalResult, evaluate
from reranklens.evaluate.runs import RunStore
from reranklens.evaluate.significance import compare_pipelines
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_page"]
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


def upload_traces(page: Page, url: str) -> None:
    """Upload the fixture as trace set ``support-bot`` on the Corpus page."""
    page.goto(f"{url}/corpus")
    idle(page)
    page.get_by_text("Traces: logged retrievals to replay").click()
    idle(page)
    form = page.locator("[data-testid='stForm']").filter(has_text="Logged retrievals of your application")
    form.locator("input[type='file']").set_input_files(str(FIXTURE))
    idle(page)
    form.get_by_label("Trace set name").fill("support-bot")
    form.get_by_role("button", name="Import traces").click()
    idle(page)
    expect(page.get_by_text("Trace set 'support-bot': 2 traces, 8 candidates")).to_be_visible()


def test_upload_a_trace_file_then_replay_it_on_explore(app: tuple[str, Path]) -> None:
    url, log = app
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        upload_traces(page, url)

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


def test_upload_a_trace_file_then_score_it_on_evaluate(
    page_data_dir: Path, tmp_path: Path, test_cross_encoder_dir: Path
) -> None:
    """Next to the demo collection, the uploaded trace set is picked on Evaluate with a golden set over its
    queries; the logged ranking and its reranking are scored, with the page's wins/losses the engine's."""
    skip_without_chromium()
    data_dir = fresh_data_dir(page_data_dir, tmp_path)
    settings = Settings(data_dir=data_dir, reranker=str(test_cross_encoder_dir))
    Workspace(settings).golden.replace_set(
        "triage",
        {"q01": "How do I reset my password in v2.4?", "q02": "What is the API rate limit in Acme Cloud 2.0?"},
        {"q01": {"v2.4/password-reset.md": 2}, "q02": {"v2.0/rate-limits.md": 1}},
    )
    log = tmp_path / "streamlit.log"
    with journey(data_dir, log, PAGE_TIMEOUT_MS, RERANKLENS_RERANKER=str(test_cross_encoder_dir)) as j:
        page = j.page
        upload_traces(page, j.url)
        page.goto(f"{j.url}/evaluate")
        idle(page)
        choose(page, "Collection or trace set", "trace set: support-bot")
        choose(page, "Golden set", "triage")
        sidebar = page.locator("[data-testid='stSidebar']")
        expect(sidebar.get_by_text(TRACE_NOTE)).to_be_visible()
        expect(sidebar.get_by_text("Candidates (N)")).to_have_count(0)
        sidebar.get_by_role("button", name="Run evaluation").click()
        idle(page)
        expect(page.get_by_role("heading", name="Metrics")).to_be_visible()
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
        # The page shows the run its job saved. Its logged ranking is the engine's exactly; the reranked
        # one is compared with the saved run itself, since the untrained test reranker's near-tied scores
        # may order differently in another process (batching changes the last float digits).
        [saved] = RunStore(data_dir / "runs.sqlite").list()
        shown = EvalResult.from_json(saved.result)
        expected = evaluate(Workspace(settings), EvalConfig("support-bot", "triage", TRACE_PIPELINES, traces=True))
        assert (saved.collection, shown.config.traces, shown.config.reranker) == (
            "support-bot",
            True,
            str(test_cross_encoder_dir),
        )
        assert shown.pipelines["logged"].per_query == expected.pipelines["logged"].per_query
        versus = compare_pipelines(shown, "logged", "logged+rerank", "nDCG@10")
        verdict = page.get_by_text("logged+rerank vs logged on nDCG@10")
        expect(verdict).to_contain_text(f"{versus.wins} wins / {versus.losses} losses / {versus.ties} ties")
        expect(verdict).to_contain_text(f"mean Δ {versus.mean_delta:+.4f}")
        expect(page.get_by_text("candidates as logged")).to_be_visible()
        screenshot(page, "trace-evaluate.png")
