"""The OpenAI embedder against a real local HTTP server speaking the embeddings protocol
(``tests/openai_server.py``): the official client, real requests, real errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from openai_server import DIMENSIONS, OpenAIStubServer, embed_text

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.errors import MissingOpenAIKeyError, OpenAIRequestError
from reranklens.ingest.embed import OpenAIEmbedder, make_embedder
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
API_KEY = "sk-test-reranklens-0123456789"
OPENAI_EMBEDDER = "openai:text-embedding-3-small"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def server(openai_server: OpenAIStubServer) -> Iterator[OpenAIStubServer]:
    """The module's server, healthy and with an empty request log for each test."""
    openai_server.fail_with = None
    openai_server.requests.clear()
    yield openai_server
    openai_server.fail_with = None


@pytest.fixture
def openai_env(server: OpenAIStubServer, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    return Settings.from_env()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "zebra.txt").write_text("Zebra herds migrate across the savanna every dry season.", encoding="utf-8")
    (folder / "password.txt").write_text("Password reset: open settings and request a reset link.", encoding="utf-8")
    (folder / "bread.txt").write_text("Sourdough bread needs a starter, flour, water and salt.", encoding="utf-8")
    return folder


def test_stub_server_vectors_follow_shared_words() -> None:
    assert len(embed_text("reset password")) == DIMENSIONS
    assert embed_text("Reset PASSWORD") == embed_text("reset password")
    assert embed_text("reset password") != embed_text("zebra savanna")


def test_ingest_and_query_with_openai_embeddings(openai_env: Settings, server: OpenAIStubServer, docs: Path) -> None:
    ws = Workspace(openai_env)
    report = ws.ingest([docs], "openai-docs", embedder=OPENAI_EMBEDDER)
    assert report.chunks_added == 3
    assert ws.store.info("openai-docs").embedder == OPENAI_EMBEDDER

    result = ws.search("how do I reset my password", "openai-docs", candidates=3)
    assert [h.chunk.doc_id for h in result.hits][0] == "password.txt"
    assert result.hits[0].similarity > result.hits[1].similarity
    assert ws.search("zebra migrate", "openai-docs").hits[0].chunk.doc_id == "zebra.txt"

    assert server.requests, "the embedder never called the server"
    for request in server.requests:
        assert request["path"] == "/v1/embeddings"
        assert request["authorization"] == f"Bearer {API_KEY}"
        assert json.loads(request["body"])["model"] == "text-embedding-3-small"
    first = json.loads(server.requests[0]["body"])
    assert sorted(first["input"]) == sorted(p.read_text(encoding="utf-8") for p in docs.iterdir())


def test_stored_vectors_are_the_servers_vectors_normalised(openai_env: Settings, docs: Path) -> None:
    ws = Workspace(openai_env)
    ws.ingest([docs], "openai-vectors", embedder="text-embedding-3-small")  # short name, same embedder
    assert ws.store.info("openai-vectors").embedder == OPENAI_EMBEDDER
    ids, matrix = ws.store.embeddings("openai-vectors")
    passages = {c.chunk_id: c.passage for c in ws.store.all_chunks("openai-vectors").chunks}
    assert matrix.shape == (3, DIMENSIONS)
    for chunk_id, vector in zip(ids, matrix, strict=True):
        expected = np.asarray(embed_text(passages[chunk_id]), dtype=np.float32)
        assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)


def test_embedder_batches_keep_input_order(openai_env: Settings) -> None:
    embedder = make_embedder(OPENAI_EMBEDDER, openai_env)
    assert isinstance(embedder, OpenAIEmbedder)
    texts = [f"text number {i} about topic {i % 7}" for i in range(300)]  # more than one 256-input batch
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (300, DIMENSIONS)
    for index in (0, 255, 256, 299):
        expected = np.asarray(embed_text(texts[index]), dtype=np.float32)
        assert np.allclose(vectors[index], expected / np.linalg.norm(expected), atol=1e-5)


def test_wrong_key_is_an_error_about_the_key(
    openai_env: Settings, server: OpenAIStubServer, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    ws = Workspace(Settings.from_env())
    with pytest.raises(OpenAIRequestError, match=r"OpenAI rejected the API key \(401\): check OPENAI_API_KEY"):
        ws.ingest([docs], "openai-wrong-key", embedder=OPENAI_EMBEDDER)
    assert server.requests[-1]["authorization"] == "Bearer sk-wrong"
    assert "sk-wrong" not in repr(ws.settings)


def test_failed_openai_ingest_leaves_no_collection(
    openai_env: Settings, server: OpenAIStubServer, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing half-written: a new collection whose embedding failed must not be left behind
    (empty), or the next run finds it and the user sees a collection that holds nothing."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    ws = Workspace(Settings.from_env())
    with pytest.raises(OpenAIRequestError):
        ws.ingest([docs], "openai-half", embedder=OPENAI_EMBEDDER)
    assert "openai-half" not in ws.store.names()


def test_failed_openai_rebuild_keeps_the_old_collection(
    openai_env: Settings, server: OpenAIStubServer, docs: Path
) -> None:
    ws = Workspace(openai_env)
    ws.ingest([docs], "openai-rebuild", embedder=OPENAI_EMBEDDER)
    before = {c.chunk_id for c in ws.store.all_chunks("openai-rebuild").chunks}
    (docs / "bread.txt").write_text("Rye bread is dense.", encoding="utf-8")
    server.fail_with = 500
    with pytest.raises(OpenAIRequestError, match=r"OpenAI embeddings request failed \(500\)"):
        ws.ingest([docs], "openai-rebuild", rebuild=True, embedder=OPENAI_EMBEDDER)
    assert {c.chunk_id for c in ws.store.all_chunks("openai-rebuild").chunks} == before
    assert [name for name in ws.store.names() if name.startswith("openai-rebuild")] == ["openai-rebuild"]


def test_rate_limit_is_reported_after_the_retries(openai_env: Settings, server: OpenAIStubServer, docs: Path) -> None:
    server.fail_with = 429
    ws = Workspace(openai_env)
    with pytest.raises(OpenAIRequestError, match=r"rate limit reached \(429\): wait a minute and retry"):
        ws.ingest([docs], "openai-limited", embedder=OPENAI_EMBEDDER)
    assert len(server.requests) == 3  # the first try and the client's two retries


def test_server_error_on_query_is_reported(openai_env: Settings, server: OpenAIStubServer, docs: Path) -> None:
    ws = Workspace(openai_env)
    ws.ingest([docs], "openai-query-fails", embedder=OPENAI_EMBEDDER)
    server.fail_with = 500
    with pytest.raises(OpenAIRequestError, match=r"OpenAI embeddings request failed \(500\)"):
        ws.search("zebra", "openai-query-fails")
    # BM25 needs no embeddings and still answers.
    assert ws.search("zebra", "openai-query-fails", mode="bm25").hits[0].chunk.doc_id == "zebra.txt"


def test_unreachable_base_url_names_it(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    embedder = make_embedder(OPENAI_EMBEDDER, Settings.from_env())
    with pytest.raises(OpenAIRequestError, match="^Cannot reach the OpenAI API: check OPENAI_BASE_URL"):
        embedder.embed_query("hello")


def test_missing_key_is_refused_before_any_work(settings: Settings, docs: Path) -> None:
    ws = Workspace(settings)
    with pytest.raises(MissingOpenAIKeyError, match="OPENAI_API_KEY is not set: export it"):
        ws.ingest([docs], "openai-no-key", embedder=OPENAI_EMBEDDER)
    assert "openai-no-key" not in ws.store.names()


def test_cli_ingest_and_query_with_openai(openai_env: Settings, docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = str(openai_env.data_dir)
    code = cli.main(["--data-dir", data_dir, "ingest", str(docs), "-c", "openai-cli", "--embedder", OPENAI_EMBEDDER])
    assert code == 0
    capsys.readouterr()
    (openai_env.data_dir / ".demo-ingested").touch()
    code = cli.main(["--data-dir", data_dir, "query", "sourdough starter", "-c", "openai-cli", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["candidates"][0]["doc_id"] == "bread.txt"


def test_cli_wrong_key_prints_one_error_line(
    openai_env: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    capsys.readouterr()
    argv = ["--data-dir", str(openai_env.data_dir), "ingest", str(docs), "-c", "openai-cli-bad"]
    code = cli.main([*argv, "--embedder", OPENAI_EMBEDDER])
    out, err = capsys.readouterr()
    assert code == 1
    assert err == "error: OpenAI rejected the API key (401): check OPENAI_API_KEY.\n"
    assert "sk-wrong" not in out + err
