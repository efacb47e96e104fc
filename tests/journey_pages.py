"""What the Evaluate, Models and Corpus journeys share: a server on a fresh data dir, driving Streamlit's
widgets as a person does, a 1500x1000 screenshot, and a clean server log.

The fresh data dir is a copy of the session's pre-ingested demo store (``fixtures_page``) without any saved
runs or models, so a journey starts where a new user starts, minus the minutes of embedding the demo.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app_server import chromium, running_app, skip_without_chromium
from journey import VIEWPORT, wait_idle
from journey import assert_no_exception as assert_clean_log
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

OPEN_TRIES = 3
OPEN_WAIT_MS = 15_000


@dataclass(frozen=True)
class Journey:
    page: Page
    url: str
    data_dir: Path
    log: Path


def fresh_data_dir(page_data_dir: Path, root: Path) -> Path:
    """A copy of the ingested demo store with no saved evaluation runs and no models."""
    data_dir = Path(shutil.copytree(page_data_dir, root / "store"))
    for leftover in ("runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm"):
        (data_dir / leftover).unlink(missing_ok=True)
    shutil.rmtree(data_dir / "models", ignore_errors=True)
    return data_dir


@contextmanager
def journey(data_dir: Path, log: Path, timeout_ms: int, **env: str) -> Iterator[Journey]:
    """The app on ``data_dir`` and a 1500x1000 Chromium page; the log is checked when the journey ends."""
    with running_app(data_dir, log, **env) as url, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(timeout_ms)
        expect.set_options(timeout=timeout_ms)  # waits for what a person waits for (a run, a training)
        yield Journey(context.new_page(), url, data_dir, log)
        context.close()
    assert_clean_log(log)


def selectbox(page: Page, label: str) -> Locator:
    """The input of the selectbox labelled ``label`` (a combobox named by its label)."""
    return page.get_by_role("combobox", name=label, exact=True)


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` as a person does: open it, click the option."""
    target = page.get_by_role("option", name=option, exact=True)
    for _ in range(OPEN_TRIES):
        selectbox(page, label).click()
        try:
            target.wait_for(timeout=OPEN_WAIT_MS)
            break
        except PlaywrightTimeoutError:
            # A rerun that finished just after the click redrew the box and closed its list: open it again.
            page.keyboard.press("Escape")
            wait_idle(page)
    target.click()
    wait_idle(page)


def fill_number(page: Page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


@contextmanager
def demo_journey(
    page_data_dir: Path, tmp_path: Path, show_log_on_failure: Callable[[Path], None], timeout_ms: int
) -> Iterator[Journey]:
    """A journey on a fresh copy of the demo store whose server log is printed when the test fails."""
    skip_without_chromium()
    data_dir = fresh_data_dir(page_data_dir, tmp_path)
    log = tmp_path / "streamlit.log"
    show_log_on_failure(log)
    with journey(data_dir, log, timeout_ms) as j:
        yield j
