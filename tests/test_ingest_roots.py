""" "Folder on the server" ingests only inside ``RERANKLENS_INGEST_ROOTS``.

Paths are resolved before the check, so ``..`` and a symlink inside a root that points outside it are
refused like the outside folder itself; the page says why and creates no collection. The CLI (the local
user) is not limited. The browser test drives the page on a fresh data dir.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from app_server import CHROMIUM, REPO, log_tail, running_app, skip_without_chromium
from page_env import FOREIGN_ENV
from playwright.sync_api import sync_playwright

from reranklens.access.roots import FolderRefusedError, check_ingest_folder
from reranklens.config import Settings
from reranklens.workspace import Workspace

DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
SHOTS = REPO / "test-artifacts"  # git-ignored
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """``root`` (allowed) holding ``docs`` and ``escape`` (a symlink to ``outside``), and ``outside``."""
    root, outside = tmp_path / "allowed", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    outside.mkdir()
    for folder in (root / "docs", outside):
        (folder / "secret.md").write_text("# Secret\n\nThe quokka vault code is 1234.\n", encoding="utf-8")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    return {"root": root, "docs": root / "docs", "outside": outside, "escape": root / "escape"}


def test_a_folder_inside_a_root_is_allowed_resolved(layout: dict[str, Path]) -> None:
    assert check_ingest_folder(layout["docs"], [layout["root"]]) == layout["docs"].resolve()
    assert check_ingest_folder(f"{layout['docs']}/../docs", [layout["root"]]) == layout["docs"].resolve()
    assert check_ingest_folder(layout["root"], [layout["root"]]) == layout["root"].resolve()


@pytest.mark.parametrize(
    ("which", "reason"),
    [
        ("outside", r"is outside the folders this server may ingest from: allowed are .*RERANKLENS_INGEST_ROOTS"),
        ("escape", r"is outside the folders this server may ingest from \(through a symbolic link or '\.\.'\)"),
        ("dotdot", r"is outside the folders this server may ingest from \(through a symbolic link or '\.\.'\)"),
        ("relative", r"is not an absolute path"),
        ("prefix", r"is outside the folders"),  # /x/allowed-evil is not inside /x/allowed
    ],
)
def test_folders_outside_every_root_are_refused_with_the_reason(
    layout: dict[str, Path], which: str, reason: str
) -> None:
    path = {
        "outside": str(layout["outside"]),
        "escape": str(layout["escape"]),
        "dotdot": f"{layout['docs']}/../../outside",
        "relative": "docs",
        "prefix": str(layout["root"]) + "-evil",
    }[which]
    with pytest.raises(FolderRefusedError, match=reason) as refused:
        check_ingest_folder(path, [layout["root"].resolve()])
    assert str(layout["outside"]) not in str(refused.value) or which == "outside"  # a link's target stays private


def test_without_roots_the_server_folder_ingest_is_off(layout: dict[str, Path]) -> None:
    with pytest.raises(FolderRefusedError, match=r"is off: .* RERANKLENS_INGEST_ROOTS"):
        check_ingest_folder(layout["docs"], [])


def test_settings_read_and_resolve_the_roots(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", f"{layout['escape']}{os.pathsep} {layout['root']}/docs/.. ")
    assert Settings.from_env().ingest_roots == (layout["outside"].resolve(), layout["root"].resolve())
    monkeypatch.delenv("RERANKLENS_INGEST_ROOTS")
    assert Settings.from_env().ingest_roots == ()


def test_the_cli_is_not_limited(layout: dict[str, Path], tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    env |= {"RERANKLENS_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    env["RERANKLENS_INGEST_ROOTS"] = str(layout["root"])
    command = [sys.executable, "-m", "reranklens.cli", "ingest", str(layout["outside"]), "--collection", "local"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "local" in [c.name for c in Workspace(Settings(data_dir=tmp_path / "data")).collections()]


def test_browser_refuses_outside_folders_and_escaping_symlinks(layout: dict[str, Path], tmp_path: Path) -> None:
    """A fresh data dir; the person types a folder outside the roots, then a symlink inside a root that
    leaves it: both refused with the reason, no collection created; the folder inside is ingested."""
    skip_without_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    data_dir, log = tmp_path / "fresh-data", tmp_path / "streamlit.log"
    with (
        running_app(data_dir, log, RERANKLENS_INGEST_ROOTS=str(layout["root"])) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(f"{url}/corpus")
        page.wait_for_selector(READY, timeout=180_000)
        name = page.get_by_role("textbox", name="New collection name")
        name.wait_for(timeout=180_000)  # after the demo's first ingest
        name.fill("leak")
        page.get_by_text("Folder on the server").click()
        page.get_by_text("Allowed folders (and their subfolders)").wait_for(timeout=60_000)
        page.wait_for_selector(READY)
        for folder, why in (
            (layout["outside"], "is outside the folders this server may ingest from: allowed are"),
            (layout["escape"], "(through a symbolic link or '..')"),
        ):
            page.get_by_role("textbox", name="Folder path").fill(str(folder))
            page.get_by_role("textbox", name="Folder path").press("Enter")
            page.wait_for_selector(READY)
            page.get_by_role("button", name="Ingest").click()
            error = page.locator("[data-testid='stAlert']").filter(has_text=why)
            error.wait_for(timeout=60_000)
            assert f"'{folder}' is outside the folders" in error.inner_text()
            page.wait_for_selector(READY)
        page.screenshot(path=str(SHOTS / "ingest-refused.png"))
        browser.close()
    names = [c.name for c in Workspace(Settings(data_dir=data_dir)).collections()]
    assert "leak" not in names and names == ["demo"], names
    server_log = log.read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"Traceback|Exception", server_log), log_tail(log)
