"""Fixtures for tests that attach another application's Chroma directory; test modules load them with
``pytest_plugins = ["fixtures_attach"]``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV

from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.workspace import Workspace

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
    """A fresh data dir (demo marked as done) for the app's cached workspace, other settings cleared."""
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
