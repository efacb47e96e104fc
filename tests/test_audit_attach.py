"""Attaching and detaching another application's collection is audited (issue 20, finding 9) like ingest and
delete: on the Corpus page and with ``reranklens attach``/``detach``, who, when and what, and never the
source (a server path, or a URL that may carry a password, is shown to every visitor)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.shared.resources import get_workspace
from reranklens.access.audit import AuditLog
from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
DOCS = {
    "pw": "To reset your password open the account settings and choose reset password.",
    "backup": "Backups of every volume run each night at two in the morning.",
    "billing": "Invoices are issued on the first day of each month.",
}


@pytest.fixture(scope="module")
def their_chroma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another application's Chroma directory with one small collection, ``tiny``."""
    root = tmp_path_factory.mktemp("their-app")
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, text in DOCS.items():
            out.write(json.dumps({"_id": doc_id, "title": doc_id, "text": text}) + "\n")
    theirs = Settings(data_dir=root / "store")
    Workspace(theirs).ingest([root], "tiny")
    return theirs.chroma_path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (*FOREIGN_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    (data / ".demo-ingested").touch()
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield data
    get_workspace.clear()


def entries(data_dir: Path) -> list[tuple[str, str, str, str]]:
    """Oldest first: (who, action, target, detail)."""
    return [(e.who, e.action, e.target, e.detail) for e in reversed(AuditLog(data_dir).entries())]


ATTACHED = ("local", "attach", "theirs", f"their collection tiny, {len(DOCS)} chunks, read-only")


def test_the_cli_audits_attach_and_detach(data_dir: Path, their_chroma: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["attach", str(their_chroma), "--collection", "tiny", "--name", "theirs", "--embedder", EMBEDDER]
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert entries(data_dir) == [ATTACHED]
    assert cli.main(["detach", "theirs"]) == 0
    assert entries(data_dir) == [ATTACHED, ("local", "detach", "theirs", "")]
    assert str(their_chroma) not in json.dumps(entries(data_dir))


def test_the_corpus_page_audits_attach_and_detach(data_dir: Path, their_chroma: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "corpus.py"), default_timeout=180).run()
    assert not at.exception
    at.text_input(key="corpus.attach_source").input(str(their_chroma))
    at.text_input(key="corpus.attach_collection").input("tiny")
    at.text_input(key="corpus.attach_name").input("theirs")
    next(b for b in at.button if b.label == "Attach read-only").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert entries(data_dir) == [ATTACHED]
    table = at.dataframe[-1].value  # the audit table at the page's end
    assert (table.iloc[0]["action"], table.iloc[0]["target"]) == ("attach", "theirs")

    at.button(key="corpus.detach").click()
    at.run()
    assert not at.exception
    assert entries(data_dir) == [ATTACHED, ("local", "detach", "theirs", "")]
    assert at.dataframe[-1].value.iloc[0]["action"] == "detach"
    assert os.fspath(their_chroma) not in at.dataframe[-1].value.to_string()
