"""Sign-in and roles in a real browser: Streamlit's OIDC sign-in (``st.login``)
against a mock OpenID provider (``oidc-provider-mock`` from PyPI) started on loopback by the test.

Every page requires sign-in; a viewer who tries to ingest is refused with the role it needs; an admin
ingests. Role rules themselves are checked without a browser in ``test_roles.py``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from app_server import CHROMIUM, REPO, free_port, log_tail, skip_without_chromium, stop_process, wait_until_healthy
from page_env import FOREIGN_ENV
from playwright.sync_api import Page, expect, sync_playwright

from reranklens.config import Settings
from reranklens.workspace import Workspace

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
User = oidc_provider_mock.User

DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
SHOTS = REPO / "test-artifacts"  # git-ignored


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_text("sign in to use it").wait_for(timeout=120_000)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name='sub']").fill(email)  # the mock provider's form: the subject is the address
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("Signed in as").wait_for(timeout=120_000)
    page.wait_for_selector(READY, timeout=120_000)


def ingest_folder(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/corpus")
    box = page.get_by_role("textbox", name="New collection name")
    box.wait_for(timeout=120_000)
    box.fill(name)
    page.get_by_text("Folder on the server").click()
    page.wait_for_selector(READY)
    folder = page.get_by_role("textbox", name="Folder path")
    folder.fill(str(DOCS))
    folder.press("Enter")
    page.wait_for_selector(READY)
    page.get_by_role("button", name="Ingest").click()


@contextmanager
def signin_app(
    tmp_path: Path, users: Sequence[User] = (), prepare: Callable[[Path], None] | None = None
) -> Iterator[str]:
    """The app with OIDC sign-in against a mock provider knowing ``users`` (any other typed subject signs
    in with only ``email``: no ``email_verified``); yields its URL, fails on a traceback in its log.
    ``prepare`` fills the data dir before the server starts (a collection to label, say)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / ".demo-ingested").touch()
    if prepare is not None:
        prepare(data)
    port, log = free_port(), tmp_path / "streamlit.log"
    url = f"http://127.0.0.1:{port}"
    with oidc_provider_mock.run_server_in_thread(port=free_port(), user_claims=users) as provider:
        cwd = tmp_path / "server"
        (cwd / ".streamlit").mkdir(parents=True)
        (cwd / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "{url}/oauth2callback"\n'
            'cookie_secret = "a-test-only-cookie-secret-0123456789"\n'
            'client_id = "reranklens"\n'
            'client_secret = "test-only"\n'
            f'server_metadata_url = "http://127.0.0.1:{provider.server_port}/.well-known/openid-configuration"\n',
            encoding="utf-8",
        )
        env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
        env |= {
            "RERANKLENS_DATA_DIR": str(data),
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(REPO),
            "RERANKLENS_INGEST_ROOTS": str(DOCS),
            "RERANKLENS_ADMINS": "admin@team.org,boss@team.org",
            "RERANKLENS_LABELERS": "@labelers.team.org",
        }
        command = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true"]
        command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(process, url, log)
            yield url
        finally:
            stop_process(process)
    server_log = log.read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"Traceback", server_log), log_tail(log)


def verified(email: str, is_verified: bool = True) -> User:
    return User(sub=email, claims={"email": email, "email_verified": is_verified})


def test_sign_in_journey_and_role_refusals(tmp_path: Path) -> None:
    skip_without_chromium()
    SHOTS.mkdir(exist_ok=True)
    with signin_app(tmp_path, [verified("admin@team.org")]) as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            viewer = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            sign_in(viewer, url, "viewer@team.org")
            assert "viewer@team.org (viewer)" in viewer.locator("[data-testid='stSidebar']").inner_text().replace(
                "\u200b", ""
            )
            ingest_folder(viewer, url, "by-viewer")
            refused = viewer.locator("[data-testid='stAlert']").filter(has_text="needs the admin role")
            refused.wait_for(timeout=60_000)
            assert "Ingesting documents needs the admin role" in refused.inner_text()
            viewer.screenshot(path=str(SHOTS / "signin-viewer-refused.png"))

            admin = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            sign_in(admin, url, "admin@team.org")
            ingest_folder(admin, url, "by-admin")
            admin.get_by_text("Collection 'by-admin'").wait_for(timeout=180_000)
            admin.screenshot(path=str(SHOTS / "signin-admin-ingested.png"))
            # The labeler's name comes from the identity, not from a free text field.
            admin.goto(f"{url}/label")
            name = admin.get_by_role("textbox", name="Your name (stored with each label)")
            name.wait_for(timeout=120_000)
            assert name.input_value() == "admin@team.org" and name.is_disabled()
            browser.close()
    names = [c.name for c in Workspace(Settings(data_dir=tmp_path / "data")).collections()]
    assert names == ["by-admin"], names


def test_an_unverified_address_is_a_viewer_and_a_viewer_sees_no_uploader(tmp_path: Path) -> None:
    """Boss@team.org is listed in RERANKLENS_ADMINS, but the provider says the address is not verified:
    a viewer, told why in one line, with no uploader on Corpus; the verified admin gets the uploaders."""
    skip_without_chromium()
    SHOTS.mkdir(exist_ok=True)
    with signin_app(tmp_path, [verified("admin@team.org"), verified("boss@team.org", False)]) as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            boss = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            sign_in(boss, url, "boss@team.org")
            sidebar = boss.locator("[data-testid='stSidebar']")
            assert "boss@team.org (viewer)" in sidebar.inner_text().replace("\u200b", "")
            why = sidebar.locator("[data-testid='stAlert']").filter(has_text="has not verified")
            assert "you are a viewer" in why.inner_text() and "RERANKLENS_ADMIN_SUBS" in why.inner_text()
            boss.goto(f"{url}/corpus")
            # Both places that upload (documents, a trace file) say so instead; some sit in a folded expander.
            expect(boss.get_by_text("Only admins upload files to this server")).to_have_count(2, timeout=120_000)
            boss.wait_for_selector(READY, timeout=120_000)
            assert boss.locator("[data-testid='stFileUploader']").count() == 0
            boss.screenshot(path=str(SHOTS / "signin-unverified-no-uploader.png"))

            admin = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            sign_in(admin, url, "admin@team.org")
            admin.goto(f"{url}/corpus")
            expect(admin.locator("[data-testid='stFileUploader']")).to_have_count(2, timeout=120_000)
            browser.close()
