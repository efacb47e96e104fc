"""Labeling as a team in a real browser, signed in through the mock OpenID provider: two labelers grade the
same chunk 3 and 0 from their own sessions, the Disagreements view lists it with both grades, an admin
decides 2 there, and ``reranklens eval`` scores the set with that 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from app_server import CHROMIUM, REPO, skip_without_chromium
from journey import screenshot
from page_env import FOREIGN_ENV
from playwright.sync_api import Page, expect, sync_playwright
from test_signin_browser import DOCS, READY, sign_in, signin_app, verified

from reranklens.config import Settings
from reranklens.golden.store import GoldenStore
from reranklens.workspace import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COLLECTION, SET = "team-docs", "team"
QUERY = "How do I rotate an API key?"
TIMEOUT_MS = 120_000


def prepare(data: Path) -> None:
    """The collection to label, and a set whose rule is ``latest``: without a decision it would use bob's 0."""
    workspace = Workspace(Settings(data_dir=data))
    workspace.ingest([DOCS], COLLECTION)
    workspace.golden.create_set(SET)
    workspace.golden.set_consensus_rule(SET, "latest")


def open_label(page: Page, url: str) -> None:
    page.goto(f"{url}/label?{urlencode({'q': QUERY, 'collection': COLLECTION, 'set': SET})}")
    page.wait_for_selector(".rl-row", timeout=TIMEOUT_MS)
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)


def grade_first(page: Page, grade: str) -> str:
    chunk = page.locator(".rl-row").first.get_attribute("data-chunk") or ""
    group = page.locator("[data-testid='stButtonGroup']").first
    group.get_by_role("radio", name=grade, exact=True).click()
    expect(group.get_by_role("radio", name=grade, exact=True)).to_be_checked(timeout=TIMEOUT_MS)
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)
    return chunk


def test_two_labelers_disagree_and_an_admin_decides(tmp_path: Path) -> None:
    skip_without_chromium()
    people = [verified("ana@labelers.team.org"), verified("bob@labelers.team.org"), verified("admin@team.org")]
    with signin_app(tmp_path, people, prepare) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        pages = {}
        for email in ("ana@labelers.team.org", "bob@labelers.team.org", "admin@team.org"):
            pages[email] = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            sign_in(pages[email], url, email)
        ana, bob, admin = pages.values()
        open_label(ana, url)
        open_label(bob, url)
        chunk = grade_first(ana, "3")
        assert grade_first(bob, "0") == chunk
        # Bob's page, drawn after his grade, shows Ana's beside it.
        expect(bob.get_by_text("Others: ana@labelers.team.org 3")).to_be_visible(timeout=TIMEOUT_MS)
        # A labeler sees the disagreement but cannot decide it, nor change the set's rule.
        bob.get_by_text("Disagreements (1)").click()
        theirs = bob.locator("[data-testid='stExpander']").filter(has_text="Disagreements (1)")
        expect(theirs).to_contain_text("An admin decides the final grade.")
        expect(theirs.locator("[data-testid='stButtonGroup']")).to_have_count(0)

        open_label(admin, url)
        admin.get_by_text("Disagreements (1)").click()
        listed = admin.locator("[data-testid='stExpander']").filter(has_text="Disagreements (1)")
        expect(listed).to_contain_text(chunk)
        expect(listed).to_contain_text("ana@labelers.team.org")
        expect(listed).to_contain_text("bob@labelers.team.org")
        listed.locator("[data-testid='stButtonGroup']").get_by_role("radio", name="2", exact=True).click()
        expect(listed).to_contain_text("Decided: grade 2 by admin@team.org", timeout=TIMEOUT_MS)
        admin.wait_for_selector(READY, timeout=TIMEOUT_MS)
        screenshot(admin, "team-adjudicated.png")
        browser.close()

    golden = GoldenStore(tmp_path / "data" / "golden.sqlite")
    people_grades = [(j.who, j.grade) for j in golden.person_judgements(SET)]
    assert people_grades == [("ana@labelers.team.org", 3), ("bob@labelers.team.org", 0)]
    [decision] = golden.adjudications(SET)
    assert (decision.target_id, decision.grade, decision.who) == (chunk, 2, "admin@team.org")

    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    env |= {"RERANKLENS_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "reranklens", "eval", "-c", COLLECTION, "-g", SET, "--pipelines", "vector"]
    done = subprocess.run([*argv, "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    [query_id] = golden.queries(SET)
    assert (result["level"], list(result["queries"])) == ("chunk", [query_id])  # relevant: graded 2, not bob's 0
    assert golden.qrels(SET, "chunk") == {query_id: {chunk: 2}}
