"""The Corpus page under AppTest, with and without an OpenAI key: the collections table, ingesting a
server folder into a new or an existing collection with the local or the OpenAI embedder (a real
local OpenAI-protocol server), and one-line errors that keep what the person typed.

Each test has its own data dir with the demo marked as done, so nothing ingests the bundled corpus.
AppTest cannot drive file uploads; the upload path's file naming is tested as a function.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai_server import OpenAIStubServer, free_port
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.corpus.collections import (
    BROWSE_PAGE,
    DELETE_COLLECTION,
    FOLDER,
    NEW_COLLECTION,
    NO_KEY_EMBEDDINGS,
    PAGE_SIZE,
    IngestRequest,
    _upload_name,
    run_ingest,
)
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.config import DEFAULT_EMBEDDER, Settings
from reranklens.errors import InvalidInputError
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_openai"]

PAGE = Path(__file__).resolve().parents[1] / "pages" / "corpus.py"
DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
OPENAI_EMBEDDER = "openai:text-embedding-3-small"
TIMEOUT_S = 180


@pytest.fixture
def corpus_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir (demo marked as done) and no OpenAI variables; yields the data dir."""
    for name in (*FOREIGN_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    (data_dir / ".demo-ingested").touch()
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # "Folder on the server" ingests only inside allowed roots (see test_ingest_roots.py).
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", os.pathsep.join([str(tmp_path), str(DOCS)]))
    get_workspace.clear()
    yield data_dir
    get_workspace.clear()


@pytest.fixture
def keyed_env(corpus_env: Path, openai_env: OpenAIStubServer) -> Path:
    get_workspace.clear()
    return corpus_env


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def corpus_page() -> AppTest:
    return run_ok(AppTest.from_file(str(PAGE), default_timeout=TIMEOUT_S))


def fill_new(at: AppTest, name: str, folder: Path, embedder: str = DEFAULT_EMBEDDER) -> AppTest:
    at.text_input(key=keys.CORPUS_NEW_NAME).input(name)
    at.selectbox(key=keys.CORPUS_EMBEDDER).set_value(embedder)
    at.radio(key=keys.CORPUS_SOURCE).set_value(FOLDER)
    run_ok(at)
    at.text_input(key=keys.CORPUS_FOLDER).input(str(folder))
    return run_ok(at)


def ingest_button(at: AppTest):  # noqa: ANN201 - AppTest's Button element
    return at.button(key="corpus.ingest")


def unescaped(text: str) -> str:
    """A Markdown element's text as the user reads it (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


def success(at: AppTest) -> str:
    (message,) = [s.value for s in at.success]
    return message


def test_empty_data_dir_and_no_key(corpus_env: Path) -> None:
    at = corpus_page()
    assert any(c.value == "No collections yet: ingest some documents below." for c in at.caption)
    assert at.selectbox(key=keys.CORPUS_TARGET).value == NEW_COLLECTION
    assert ingest_button(at).disabled  # nothing to ingest yet
    assert OPENAI_EMBEDDER in at.selectbox(key=keys.CORPUS_EMBEDDER).options

    fill_new(at, "openai-docs", DOCS, OPENAI_EMBEDDER)
    assert [i.value for i in at.info] == [NO_KEY_EMBEDDINGS]
    assert ingest_button(at).disabled
    fill_new(at, "openai-docs", DOCS, DEFAULT_EMBEDDER)
    assert not at.info and not ingest_button(at).disabled


def test_ingest_a_folder_into_a_new_then_the_existing_collection(corpus_env: Path) -> None:
    at = fill_new(corpus_page(), "guide", DOCS)
    ingest_button(at).click()
    run_ok(at)

    info = Workspace(Settings.from_env()).store.info("guide")
    assert info.embedder == DEFAULT_EMBEDDER and info.chunk_count > 0
    chunks = info.chunk_count
    assert success(at).startswith(f"Collection 'guide': 3 documents, {chunks} chunks ({chunks} added")
    table = at.dataframe[0].value
    assert table.to_dict("records") == [
        {"collection": "guide", "embedder": DEFAULT_EMBEDDER, "chunks": info.chunk_count, "documents": 3}
    ]

    at.selectbox(key=keys.CORPUS_TARGET).set_value("guide")
    run_ok(at)
    fixed = f"Embedder: {DEFAULT_EMBEDDER} (fixed by the collection"
    assert any(unescaped(c.value).startswith(fixed) for c in at.caption)
    at.radio(key=keys.CORPUS_SOURCE).set_value(FOLDER)
    at.text_input(key=keys.CORPUS_FOLDER).input(str(DOCS))
    run_ok(at)
    ingest_button(at).click()
    run_ok(at)
    assert "(0 added, 0 removed)" in success(at)  # idempotent: nothing new


def test_openai_embeddings_with_a_key(keyed_env: Path, openai_env: OpenAIStubServer) -> None:
    at = fill_new(corpus_page(), "guide-openai", DOCS, OPENAI_EMBEDDER)
    assert not at.info
    ingest_button(at).click()
    run_ok(at)
    assert success(at).startswith("Collection 'guide-openai': 3 documents")
    assert Workspace(Settings.from_env()).store.info("guide-openai").embedder == OPENAI_EMBEDDER
    bodies = [json.loads(str(r["body"])) for r in openai_env.requests]
    assert bodies and all(b["model"] == "text-embedding-3-small" for b in bodies)


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("missing folder", r"does not exist"),
        ("wrong key", r"^OpenAI rejected the API key \(401\): check OPENAI_API_KEY\.$"),
        ("rate limit", r"^OpenAI rate limit reached \(429\): wait a minute and retry\.$"),
        ("server down", r"^Cannot reach the OpenAI API: check OPENAI_BASE_URL"),
    ],
)
def test_errors_are_one_line_and_keep_the_inputs(
    keyed_env: Path,
    openai_env: OpenAIStubServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    failure: str,
    message: str,
) -> None:
    folder = DOCS
    if failure == "missing folder":
        folder = tmp_path / "no-such-folder"
    elif failure == "wrong key":
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret")
    elif failure == "rate limit":
        openai_env.fail_with = 429
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    get_workspace.clear()
    at = fill_new(corpus_page(), "will-fail", folder, OPENAI_EMBEDDER)
    ingest_button(at).click()
    run_ok(at)

    (error,) = [unescaped(e.value) for e in at.error]
    assert re.search(message, error), error
    assert "sk-wrong-secret" not in error
    assert "will-fail" not in [i.name for i in Workspace(Settings.from_env()).collections()]
    # What the person typed is still there: fix the one thing and click again.
    assert at.text_input(key=keys.CORPUS_NEW_NAME).value == "will-fail"
    assert at.text_input(key=keys.CORPUS_FOLDER).value == str(folder)
    assert at.selectbox(key=keys.CORPUS_EMBEDDER).value == OPENAI_EMBEDDER


def test_upload_names() -> None:
    assert _upload_name("guide.md") == "guide.md"
    assert _upload_name("C:\\Users\\ana\\notes.txt") == "notes.txt"
    assert _upload_name("../../etc/passwd.txt") == "passwd.txt"
    for bad in ("", ".hidden.md", "..", "docs/../"):
        with pytest.raises(InvalidInputError, match="Cannot use the uploaded file name"):
            _upload_name(bad)


def test_the_app_navigates_to_the_corpus_page(corpus_env: Path) -> None:
    at = run_ok(AppTest.from_file(str(PAGE.parents[1] / "app.py"), default_timeout=TIMEOUT_S))
    assert any("No collections yet" in i.value for i in at.info)  # Explore, on an empty data dir
    at.switch_page("pages/corpus.py")
    run_ok(at)
    assert [t.value for t in at.title] == ["📚 Corpus"]
    assert at.button(key="corpus.ingest").disabled


@dataclass(frozen=True)
class FakeUpload:
    """What ``run_ingest`` reads of Streamlit's ``UploadedFile`` (AppTest cannot upload)."""

    name: str
    data: bytes

    @property
    def size(self) -> int:  # the size the browser reported, checked before anything is read
        return len(self.data)

    def getvalue(self) -> bytes:
        return self.data


def test_uploaded_files_are_ingested_under_their_names(corpus_env: Path) -> None:
    workspace = Workspace(Settings.from_env())
    uploads = tuple(FakeUpload(p.name, p.read_bytes()) for p in sorted(DOCS.iterdir()))
    request = IngestRequest("uploaded", DEFAULT_EMBEDDER, ChunkingOptions(200, 40), False, uploads=uploads)  # type: ignore[arg-type]
    report = run_ingest(workspace, request)  # outside a page: Streamlit calls are no-ops (bare mode)
    assert (report.documents, report.chunks_added) == (3, report.chunks_total)
    assert {c.doc_id for c in workspace.store.all_chunks("uploaded").chunks} == {p.name for p in DOCS.iterdir()}
    again = run_ingest(workspace, request)
    assert again.chunks_added == 0  # same names, same bytes: nothing new


def test_browse_a_collection_page_by_page(corpus_env: Path) -> None:
    folder = corpus_env.parent / "many"
    folder.mkdir()
    for number in range(PAGE_SIZE + 5):  # one chunk each, some with Markdown that must stay literal
        (folder / f"note-{number:02}.txt").write_text(f"Note {number}: **not bold** <b>nor this</b>.\n", "utf-8")
    workspace = Workspace(Settings.from_env())
    workspace.ingest([folder], "guide")
    stored = {c.chunk_id: c for c in workspace.store.all_chunks("guide").chunks}
    assert len(stored) > PAGE_SIZE, "the fixture must fill more than one page"
    get_workspace.clear()

    at = corpus_page()
    first = at.dataframe[1].value
    assert len(first) == PAGE_SIZE and list(first["#"]) == list(range(1, PAGE_SIZE + 1))
    pages = -(-len(stored) // PAGE_SIZE)
    assert any(c.value == f"Page 1 of {pages} · {PAGE_SIZE} chunks a page." for c in at.caption)
    at.number_input(key=BROWSE_PAGE).set_value(pages)
    last = run_ok(at).dataframe[1].value
    assert len(last) == len(stored) - (pages - 1) * PAGE_SIZE
    seen = [*first["chunk id"], *last["chunk id"]]
    assert len(set(seen)) == len(seen)  # pages do not overlap
    for row in [*first.to_dict("records"), *last.to_dict("records")]:
        chunk = stored[row["chunk id"]]
        assert row["text"] == chunk.text and row["document"] == chunk.doc_id  # the text exactly, as text


def test_delete_a_collection_only_after_confirming(corpus_env: Path) -> None:
    workspace = Workspace(Settings.from_env())
    for name in ("keep", "scratch"):
        workspace.ingest([DOCS], name)
    get_workspace.clear()

    at = corpus_page()
    at.selectbox(key=DELETE_COLLECTION).set_value("scratch")
    at.button(key="corpus.delete").click()
    run_ok(at)
    assert any("Delete the collection 'scratch'" in w.value for w in at.warning)
    at.button(key="corpus.delete_cancel").click()
    run_ok(at)
    assert Workspace(Settings.from_env()).store.names() == ["keep", "scratch"]  # cancelled: nothing deleted

    at.button(key="corpus.delete").click()
    run_ok(at)
    at.button(key="corpus.delete_confirm").click()
    run_ok(at)
    assert Workspace(Settings.from_env()).store.names() == ["keep"]
    assert success(at) == "Collection 'scratch' deleted."
    assert list(at.dataframe[0].value["collection"]) == ["keep"]
