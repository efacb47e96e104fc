"""The audit table: who ingested, trained, added or removed a model or changed the
default, and when, in ``audit.sqlite`` in the data dir, shown on the Corpus page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.corpus.collections import FOLDER, NEW_COLLECTION
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.access.audit import AUDIT_FILE, AuditLog
from reranklens.errors import InvalidInputError

REPO = Path(__file__).resolve().parents[1]
DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"


def test_entries_are_kept_newest_first_with_who_and_when(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    assert log.entries() == []
    log.record("ana@example.org", "ingest", "docs", "folder /srv/docs")
    log.record("", "set default", "team-ce")
    first, second = log.entries()[::-1]
    assert (first.who, first.action, first.target, first.detail) == (
        "ana@example.org",
        "ingest",
        "docs",
        "folder /srv/docs",
    )
    assert (second.who, second.action) == ("local", "set default")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", first.at)
    assert (tmp_path / AUDIT_FILE).is_file()


def test_unknown_actions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="Unknown audit action 'format disk'"):
        AuditLog(tmp_path).record("ana", "format disk", "x")  # type: ignore[arg-type]


def test_concurrent_writers_lose_no_entry(tmp_path: Path) -> None:
    """Four threads write 20 entries each to a new file: the first-time set-up races the first writes."""

    def write(who: str) -> None:
        for number in range(20):
            AuditLog(tmp_path).record(who, "ingest", f"c{number}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        writers = [pool.submit(write, f"user{n}") for n in range(4)]
    for writer in writers:
        writer.result()  # a writer's exception fails the test here instead of dying with its thread
    assert len(AuditLog(tmp_path).entries(limit=1000)) == 80


WRITER_PROCESS = """
import sys
from pathlib import Path
from reranklens.access.audit import AuditLog
for number in range(40):
    AuditLog(Path(sys.argv[1])).record(sys.argv[2], "ingest", f"c{number}")
"""


def test_concurrent_processes_lose_no_entry(tmp_path: Path) -> None:
    """Processes (the app and the CLI) each prepare the file on their own: none may lose an entry."""
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER_PROCESS, str(tmp_path), f"process{n}"], stderr=subprocess.PIPE)
        for n in range(4)
    ]
    errors = [writer.communicate(timeout=300)[1].decode() for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0, 0], errors
    entries = AuditLog(tmp_path).entries(limit=1000)
    assert len(entries) == 160
    assert {entry.who for entry in entries} == {f"process{n}" for n in range(4)}


@pytest.fixture
def corpus_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (*FOREIGN_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    (data / ".demo-ingested").touch()
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data))
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", os.pathsep.join([str(DOCS)]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield data
    get_workspace.clear()


def test_an_ingest_on_the_corpus_page_shows_in_its_audit_table(corpus_env: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "corpus.py"), default_timeout=180).run()
    assert not at.exception
    assert any(c.value.startswith("Nothing changed yet") for c in at.caption)
    assert at.selectbox(key=keys.CORPUS_TARGET).value == NEW_COLLECTION
    at.text_input(key=keys.CORPUS_NEW_NAME).input("guide")
    at.radio(key=keys.CORPUS_SOURCE).set_value(FOLDER)
    at.run()
    at.text_input(key=keys.CORPUS_FOLDER).input(str(DOCS))
    at.run()
    at.button(key="corpus.ingest").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[-1].value
    assert list(table.columns) == ["when (UTC)", "who", "action", "target", "detail"]
    row = table.iloc[0]
    assert (row["who"], row["action"], row["target"]) == ("local", "ingest", "guide")
    assert row["detail"].startswith(f"folder {DOCS}") and "chunks added" in row["detail"]


def test_registering_a_model_is_audited(corpus_env: Path, test_cross_encoder_dir: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "models.py"), default_timeout=180).run()
    assert not at.exception
    at.text_input[0].input("team-ce")
    at.text_input[1].input(str(test_cross_encoder_dir))
    next(b for b in at.button if b.label == "Register").click()
    at.run()
    assert not at.exception and not at.error
    [entry] = AuditLog(corpus_env).entries()
    assert (entry.who, entry.action, entry.target, entry.detail) == (
        "local",
        "add model",
        "team-ce",
        str(test_cross_encoder_dir.resolve()),
    )
