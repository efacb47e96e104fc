"""The app in a real browser: ``streamlit run`` in a subprocess, driven by Debian's Chromium via Playwright.

One server serves both tests from a copy of the session's pre-ingested data dir (``fixtures_page``),
with the untrained test cross-encoder as its reranker. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from app_server import REPO, chromium, running_app, skip_without_chromium
from playwright.sync_api import Browser, Dialog, Page, expect

from reranklens.golden.store import GoldenStore
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.workspace import Workspace

if TYPE_CHECKING:
    from fixtures_page import XssDoc

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
EXAMPLE_QUERY = "How do I reset my password in v2.4?"
# The first run loads the embedder and the cross-encoder and reranks 50 candidates on a small CPU.
PAGE_TIMEOUT_MS = 180_000
IDLE_APP = "[data-testid='stApp'][data-test-script-state='notRunning']"


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    data_dir: Path


@pytest.fixture(scope="module")
def server(
    page_data_dir: Path, test_cross_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    skip_without_chromium()
    root = tmp_path_factory.mktemp("browser")
    # A copy: the server process gets a store of its own, apart from this process's Chroma clients.
    data_dir = shutil.copytree(page_data_dir, root / "store")
    log = root / "streamlit.log"
    with running_app(Path(data_dir), log, RERANKLENS_RERANKER=str(test_cross_encoder_dir)) as url:
        yield Server(url, log, Path(data_dir))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def browser_page(
    server: Server, browser: Browser, show_log_on_failure: Callable[[Path], None]
) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page (wide enough for both columns) and the messages of every dialog it opened."""
    show_log_on_failure(server.log)
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    yield page, dialogs
    context.close()


def open_explore(page: Page, server: Server, **params: str) -> None:
    page.goto(f"{server.url}/?{urlencode(params)}" if params else server.url)
    page.wait_for_selector(".rl-row")
    page.wait_for_selector(IDLE_APP)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_explore_shows_both_rankings_and_what_moved(
    browser_page: tuple[Page, list[str]], server: Server, page_engine: Workspace
) -> None:
    # The untrained head reorders the example's candidates; make sure, so a failure below is the page's.
    view, no_reranker = page_engine.explore(EXAMPLE_QUERY, DEMO_COLLECTION, "vector", 50, 3)
    assert no_reranker is None and view.comparison.entered and view.comparison.left

    page, dialogs = browser_page
    open_explore(page, server)

    expect(page.get_by_role("heading", name="Vector search")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Reranked \("))).to_be_visible()
    # The top 10 of each ranking until the person asks for all N.
    expect(page.locator(".rl-left .rl-row")).to_have_count(10)
    page.get_by_text("Show all 50 candidates").click()
    expect(page.locator(".rl-left .rl-row")).to_have_count(50)
    expect(page.locator(".rl-right .rl-row")).to_have_count(50)
    page.wait_for_selector(IDLE_APP)
    expect(page.locator(".rl-right .rl-entered_top_k").first).to_be_visible()
    expect(page.locator(".rl-left .rl-left_top_k").first).to_be_visible()
    for side in ("left", "right"):
        expect(page.locator(f".rl-{side} .rl-entered_top_k")).to_have_count(len(view.comparison.entered))
        expect(page.locator(f".rl-{side} .rl-left_top_k")).to_have_count(len(view.comparison.left))
    expect(page.get_by_text("untrained classification head")).to_be_visible()
    assert screenshot(page, "explore.png").stat().st_size > 0
    assert dialogs == []


def test_document_markup_shows_as_text(browser_page: tuple[Page, list[str]], server: Server, xss_doc: XssDoc) -> None:
    page, dialogs = browser_page
    open_explore(page, server, collection=xss_doc.collection, q=xss_doc.query)

    rows = page.locator(".rl-row")
    expect(rows.first).to_be_visible()
    assert page.locator(".rl-row img").count() == 0
    assert page.locator(".rl-row script").count() == 0
    assert page.locator(".rl-heading b").count() == 0
    assert page.locator("[onerror], [onmouseover]").count() == 0
    expect(rows.first.locator(".rl-preview")).to_contain_text(xss_doc.img + xss_doc.script, use_inner_text=True)
    expect(rows.first.locator(".rl-heading")).to_have_text(xss_doc.heading, use_inner_text=True)
    assert xss_doc.img in rows.first.inner_text()
    screenshot(page, "xss.png")
    assert dialogs == []


def test_grading_a_chunk_by_clicking_stores_the_label(browser_page: tuple[Page, list[str]], server: Server) -> None:
    page, _ = browser_page
    golden_set = "browser-labels"
    page.goto(f"{server.url}/label?{urlencode({'q': EXAMPLE_QUERY, 'set': golden_set, 'k': '3'})}")
    page.wait_for_selector(".rl-row")
    page.wait_for_selector(IDLE_APP)
    first_card = page.locator(".rl-row").first
    chunk_id = first_card.get_attribute("data-chunk")

    page.locator("[data-testid='stButtonGroup']").first.get_by_role("radio", name="3", exact=True).click()
    judged = page.locator("[data-testid='stMetric']", has_text="Judged (chunk level)")
    expect(judged.locator("[data-testid='stMetricValue']")).to_have_text("1")
    page.wait_for_selector(IDLE_APP)

    judgements = GoldenStore(server.data_dir / "golden.sqlite").judgements(golden_set)
    assert [(j.target_id, j.grade, j.level) for j in judgements] == [(chunk_id, 3, "chunk")]
    screenshot(page, "label.png")
