"""What every journey test shares: the app on a fresh data dir, a 1500x1000 Chromium page, a viewport
screenshot under ``test-artifacts/``, and a server log that must hold no exception.

A journey is one person's path through the app: it clicks and types as they do and checks
what they see, including where it sits on the first screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app_server import REPO, chromium, running_app, skip_without_chromium
from playwright.sync_api import Locator, Page

ARTIFACTS = REPO / "test-artifacts"
VIEWPORT = {"width": 1500, "height": 1000}
# A fresh data dir ingests the demo corpus and loads the embedder on the first page view (2 shared cores).
PAGE_TIMEOUT_MS = 300_000
IDLE_APP = "[data-testid='stApp'][data-test-script-state='notRunning']"
# What a server log shows when a page script raised (Streamlit logs the traceback) or the server broke.
_EXCEPTION = re.compile(r"Traceback \(most recent call last\)|\b\w+(Error|Exception)\b: |Uncaught app exception")


@dataclass(frozen=True)
class Journey:
    page: Page
    url: str
    log: Path
    data_dir: Path


@contextmanager
def journey(tmp_path: Path, **env_vars: str) -> Iterator[Journey]:
    """The app on a new, empty data dir and a fresh 1500x1000 page; on leaving, the log must be clean."""
    skip_without_chromium()
    data_dir, log = tmp_path / "store", tmp_path / "streamlit.log"
    with running_app(data_dir, log, **env_vars) as url, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        yield Journey(context.new_page(), url, log, data_dir)
        context.close()
    assert_no_exception(log)


def assert_no_exception(log: Path) -> None:
    text = log.read_text(encoding="utf-8", errors="replace")
    found = _EXCEPTION.search(text)
    assert found is None, f"the server log holds an exception:\n{text[max(0, found.start() - 2000) :]}"


def wait_idle(page: Page) -> None:
    page.wait_for_selector(IDLE_APP)


def screenshot(page: Page, name: str) -> Path:
    """The first screen as a person sees it (the viewport, not the full page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def in_first_screen(locator: Locator) -> None:
    """``locator`` is drawn, without scrolling, wholly inside the 1500x1000 viewport."""
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not drawn"
    assert box["width"] > 0 and box["height"] > 0, box
    assert 0 <= box["x"] and box["x"] + box["width"] <= VIEWPORT["width"], box
    assert 0 <= box["y"] and box["y"] + box["height"] <= VIEWPORT["height"], box
