"""In a real browser (Debian's Chromium via Playwright): two sessions labeling at the same time on
one app server (their clicks released together, their click-to-stored intervals shown to intersect) both
keep their labels, and hostile documents, queries, set names and ids show as
text: no element, request or dialog comes out of them.

One ``streamlit run`` server serves both tests from the hostile data dir of ``test_untrusted_text``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from app_server import CHROMIUM, CHROMIUM_ARGS, chromium, running_app, skip_without_chromium
from playwright.async_api import Dialog, async_playwright
from playwright.async_api import Page as AsyncPage
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


@dataclass(frozen=True)
class Labeled:
    """One session's label: the card it graded, the grade, and when (monotonic seconds) its click began
    and its label was in the store."""

    chunk_id: str
    grade: int
    clicked: float
    stored: float


def stored_labels(store: GoldenStore) -> set[tuple[str, int]]:
    """(target, grade) of every label in set "team" (created by the first label saved)."""
    return {(j.target_id, j.grade) for j in store.judgements("team")} if "team" in store.names() else set()


async def label_at_once(url: str, store: GoldenStore, dialogs: list[str]) -> list[Labeled]:
    """Two sessions (browser contexts) open the Label page, then each grades a different card at the same
    moment (an ``asyncio.Barrier`` releases both clicks together), each waiting for its own label to be
    stored. Playwright's async API drives both pages at once from one event loop."""
    query = urlencode({"q": LABEL_QUERY, "collection": "hostile", "set": "team", "k": "3"})
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        async def dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        try:
            pages = []
            for _ in range(SESSIONS):
                context = await browser.new_context(viewport={"width": 1600, "height": 1200})
                context.set_default_timeout(PAGE_TIMEOUT_MS)
                page = await context.new_page()
                page.on("dialog", dismiss)
                pages.append(page)
            await asyncio.gather(*(page.goto(f"{url}/label?{query}") for page in pages))
            for page in pages:
                await page.wait_for_selector(".rl-row")
                await page.wait_for_selector(IDLE_APP)
            barrier = asyncio.Barrier(SESSIONS)

            async def label(number: int, page: AsyncPage) -> Labeled:
                chunk_id = await page.locator(".rl-row").nth(number).get_attribute("data-chunk")
                assert chunk_id
                group = page.locator("[data-testid='stButtonGroup']").nth(number)
                radio = group.get_by_role("radio", name=str(number + 1))
                await radio.wait_for()
                await barrier.wait()
                clicked = time.monotonic()
                await radio.click()
                deadline = clicked + LABEL_DEADLINE_S
                while (chunk_id, number + 1) not in stored_labels(store):
                    assert time.monotonic() < deadline, f"session {number}'s label was not stored"
                    await asyncio.sleep(0.02)  # polling interval: the label is saved by the server's script run
                stored = time.monotonic()
                await page.wait_for_selector(IDLE_APP)
                assert await page.get_by_text("Traceback").count() == 0
                return Labeled(chunk_id, number + 1, clicked, stored)

            return list(await asyncio.gather(*(label(number, page) for number, page in enumerate(pages))))
        finally:
            await browser.close()


def test_two_sessions_labeling_at_once_keep_both_labels(
    app_url: tuple[str, Path, Path], show_log_on_failure: Callable[[Path], None]
) -> None:
    url, data_dir, log = app_url
    show_log_on_failure(log)
    store = GoldenStore(data_dir / "golden.sqlite")
    dialogs: list[str] = []
    # Its own thread: Playwright's async API cannot share a thread with the sync API of the other fixtures.
    with ThreadPoolExecutor(max_workers=1) as worker:
        labeled = worker.submit(asyncio.run, label_at_once(url, store, dialogs)).result()

    assert len({one.chunk_id for one in labeled}) == SESSIONS
    # They overlapped: each click began before the other session's label was stored.
    assert max(one.clicked for one in labeled) < min(one.stored for one in labeled), labeled
    assert stored_labels(store) == {(one.chunk_id, one.grade) for one in labeled}
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
