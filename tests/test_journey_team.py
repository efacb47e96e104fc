"""Journey "team": a data dir moved into PostgreSQL with ``reranklens db copy``, its collections served by one
``chroma run`` server, then two app servers on that database and that Chroma server. A grade saved on one
server's Label page is checked on the other's; a training started on one server is listed on the other's Models
page and cancelled there, and the first server's page says it was cancelled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest
from app_server import chromium, running_app, skip_without_chromium
from journey import VIEWPORT, screenshot, wait_idle
from journey import assert_no_exception as assert_clean_log
from journey_pages import fill_number, fresh_data_dir
from playwright.sync_api import Page, expect
from test_chroma_restart import run_chroma
from test_store_server import free_port

from reranklens import database
from reranklens.cli import main as cli

pytest_plugins = ["fixtures_page", "fixtures_postgres"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 300_000
LONG_RUN = 2_000  # steps: still running when the other server cancels it


def first_demo_query() -> str:
    lines = (Path(__file__).resolve().parents[1] / "data/demo/golden/queries.jsonl").read_text().splitlines()
    return str(json.loads(lines[0])["text"])


def open_label(page: Page, url: str, query: str) -> None:
    """The Label page on set "team" (not "demo": a chunk grade there would change what the training learns)."""
    page.goto(f"{url}/label?{urlencode({'q': query, 'set': 'team'})}")
    expect(page.get_by_label("Query", exact=True)).to_have_value(query)
    wait_idle(page)
    page.wait_for_selector(".rl-row")


def test_two_servers_on_one_database_share_labels_and_jobs(
    page_data_dir: Path,
    tmp_path: Path,
    postgres_url: str,
    show_log_on_failure,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skip_without_chromium()
    monkeypatch.delenv(database.URL_ENV, raising=False)
    data_a, data_b = fresh_data_dir(page_data_dir, tmp_path / "a"), fresh_data_dir(page_data_dir, tmp_path / "b")
    assert cli.main(["--data-dir", str(data_a), "db", "copy", "--to", postgres_url]) == 0
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    for log in logs:
        show_log_on_failure(log)
    query = first_demo_query()
    served = Path(shutil.copytree(data_a / "chroma", tmp_path / "chroma-server"))  # the demo, already embedded
    chroma = run_chroma(free_port(), served, tmp_path / "chroma.log")
    env = {database.URL_ENV: postgres_url, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma.port)}
    with (
        running_app(data_a, logs[0], **env) as url_a,
        running_app(data_b, logs[1], **env) as url_b,
        chromium() as browser,
    ):
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        a, b = context.new_page(), context.new_page()

        open_label(a, url_a, query)
        chunk = a.locator(".rl-row").first.get_attribute("data-chunk") or ""
        a.locator("[data-testid='stButtonGroup']").first.get_by_role("radio", name="3", exact=True).click()
        expect(a.locator("[data-testid='stMetric']", has_text="Judged (chunk level)")).to_contain_text("1")
        wait_idle(a)

        open_label(b, url_b, query)  # the other server: the grade is there
        chunks = [row.get_attribute("data-chunk") for row in b.locator(".rl-row").all()]
        group = b.locator("[data-testid='stButtonGroup']").nth(chunks.index(chunk))
        expect(group.get_by_role("radio", name="3", exact=True)).to_be_checked()
        screenshot(b, "journey-team-label.png")

        a.goto(f"{url_a}/models")
        wait_idle(a)
        fill_number(a, "Steps", LONG_RUN)
        a.get_by_role("button", name="Train").click()
        expect(a.get_by_text("Training demo-reranker")).to_be_visible()

        b.goto(f"{url_b}/models")
        wait_idle(b)
        heading = b.get_by_role("heading", name="Jobs on this server")
        heading.scroll_into_view_if_needed()
        wait_idle(b)
        expect(b.get_by_text("demo-reranker", exact=True).first).to_be_visible()
        expect(b.get_by_text("▶️ running", exact=False)).to_have_count(1)
        screenshot(b, "journey-team-job.png")
        b.get_by_role("button", name="Cancel", exact=True).click()
        expect(b.get_by_text("⏹️ cancelled")).to_be_visible()

        said = a.get_by_text("Training was cancelled; nothing was saved.")  # the server that ran it
        expect(said.first).to_be_visible()
        context.close()
    chroma.stop()
    for log in logs:
        assert_clean_log(log)
