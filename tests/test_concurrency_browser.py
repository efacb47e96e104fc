"""In a real browser (Debian's Chromium via Playwright): two sessions labeling at the same time on
one app server both keep their labels, and hostile documents, queries, set names and ids show as
text: no element, request or dialog comes out of them.

One ``streamlit run`` server serves both tests from the hostile data dir of ``test_untrusted_text``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from app_server import chromium, running_app, skip_without_chromium
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_browser import IDLE_APP, PAGE_TIMEOUT_MS, screenshot
from test_untrusted_text import HOSTILE_QUERY, HOSTILE_SET, HOSTILE_TARGET, REMOTE, build_hostile_data

from reranklens.golden.store import GoldenStore

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

LABEL_QUERY = "wallaby escape plan"
SESSIONS = 2
LABEL_DEADLINE_S = 120


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    skip_without_chromium()
    root = tmp_path_factory.mktemp("browser-robust")
    data_dir = build_hostile_data(root)
    log = root / "streamlit.log"
    with running_app(data_dir, log) as url:
        yield url, data_dir, log


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def contexts(
    browser: Browser, app_url: tuple[str, Path, Path], show_log_on_failure: Callable[[Path], None]
) -> Iterator[tuple[list[BrowserContext], list[str], list[str]]]:
    """Browser contexts (separate sessions), the dialogs they opened and the remote requests they made."""
    show_log_on_failure(app_url[2])
    opened: list[BrowserContext] = []
    dialogs: list[str] = []
    remote: list[str] = []
    for _ in range(SESSIONS):
        context = browser.new_context(viewport={"width": 1600, "height": 1200})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.on("request", lambda request: remote.append(request.url) if "127.0.0.1:9/" in request.url else None)
        opened.append(context)
    yield opened, dialogs, remote
    for context in opened:
        context.close()


def new_page(context: BrowserContext, dialogs: list[str]) -> Page:
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def test_two_sessions_labeling_at_once_keep_both_labels(
    contexts: tuple[list[BrowserContext], list[str], list[str]], app_url: tuple[str, Path, Path]
) -> None:
    url, data_dir, _ = app_url
    opened, dialogs, _ = contexts
    query = urlencode({"q": LABEL_QUERY, "collection": "hostile", "set": "team", "k": "3"})
    pages = [new_page(context, dialogs) for context in opened]
    for page in pages:  # both sessions start before either finishes
        page.goto(f"{url}/label?{query}", wait_until="commit")
    chunk_ids = []
    for page in pages:
        page.wait_for_selector(".rl-row")
        page.wait_for_selector(IDLE_APP)
    for number, page in enumerate(pages):  # different cards, clicked back to back
        chunk_ids.append(page.locator(".rl-row").nth(number).get_attribute("data-chunk"))
        page.locator("[data-testid='stButtonGroup']").nth(number).get_by_role("radio", name=str(number + 1)).click()
    assert len(set(chunk_ids)) == SESSIONS

    expected = {(chunk_id, number + 1) for number, chunk_id in enumerate(chunk_ids)}
    store = GoldenStore(data_dir / "golden.sqlite")
    deadline = time.monotonic() + LABEL_DEADLINE_S
    while {(j.target_id, j.grade) for j in store.judgements("team")} != expected and time.monotonic() < deadline:
        time.sleep(0.2)  # polling interval: the clicks are saved by the server's script runs
    assert {(j.target_id, j.grade) for j in store.judgements("team")} == expected
    for page in pages:
        page.wait_for_selector(IDLE_APP)
        expect(page.get_by_text("Traceback")).to_have_count(0)
    assert dialogs == []


def test_hostile_text_stays_text_in_the_browser(
    contexts: tuple[list[BrowserContext], list[str], list[str]], app_url: tuple[str, Path, Path]
) -> None:
    url, _, _ = app_url
    opened, dialogs, remote = contexts
    page = new_page(opened[0], dialogs)

    page.goto(f"{url}/?{urlencode({'q': HOSTILE_QUERY, 'collection': 'hostile', 'mode': 'hybrid'})}")
    page.wait_for_selector(".rl-row")
    page.wait_for_selector(IDLE_APP)
    expect(page.locator(".rl-row").first).to_contain_text("alert(")
    check_nothing_came_alive(page)
    screenshot(page, "robust-explore.png")

    page.goto(f"{url}/label?{urlencode({'q': HOSTILE_QUERY, 'collection': 'hostile', 'set': HOSTILE_SET})}")
    page.wait_for_selector(".rl-row")
    page.wait_for_selector(IDLE_APP)
    orphans = page.locator("[data-testid='stAlert']", has_text="no longer exist")
    expect(orphans).to_contain_text(HOSTILE_TARGET)  # the ids read literally, markup and all
    check_nothing_came_alive(page)
    screenshot(page, "robust-label.png")

    assert remote == [] and dialogs == []


def check_nothing_came_alive(page: Page) -> None:
    assert page.locator(f"img[src*='{REMOTE[7:]}'], iframe, [onerror], [onmouseover]").count() == 0
    assert page.locator("a[href^='javascript:'], a[href*='127.0.0.1:9'], a[href*='example.invalid']").count() == 0
    assert page.locator("[data-testid='stMain'] script").count() == 0
