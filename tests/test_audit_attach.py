"""Attaching and detaching another application's collection is audited like ingest and
delete: on the Corpus page and with ``reranklens attach``/``detach``, who, when and what, and never the
source (a server path, or a URL that may carry a password, is shown to every visitor)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fixtures_attach import DOCS, EMBEDDER
from streamlit.testing.v1 import AppTest

from reranklens.access.audit import AuditLog
from reranklens.cli import main as cli

REPO = Path(__file__).resolve().parents[1]
pytest_plugins = ["fixtures_attach"]


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


def test_the_corpus_page_audits_attach_and_detach(
    data_dir: Path, their_chroma: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", str(their_chroma.parent))  # the page reads inside the roots only
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
