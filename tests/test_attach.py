"""Attached collections: another application's Chroma (a directory and a ``chroma run`` server), filled
by a separate process with ``chromadb`` directly, searched by RerankLens without ever being written to."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.retrieve.conventions import MetadataKeys, map_chunk
from reranklens.workspace import Workspace
from tests.test_store_server import ChromaServer, start_chroma

FILLER = Path(__file__).parent / "chroma_filler.py"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
PASSWORD_QUERY = "How do I reset my password in v2.4?"


def fill(target: str) -> dict[str, int]:
    done = subprocess.run([sys.executable, str(FILLER), target], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (the proof that nothing was written)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def their_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("their-app") / "chroma"
    counts = fill(str(path))
    assert counts["lc_docs"] == counts["li_nodes"] > 100
    return path


@pytest.fixture(scope="module")
def their_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChromaServer, dict[str, int]]]:
    server = start_chroma(tmp_path_factory.mktemp("their-server"))
    try:
        yield server, fill(f"http://127.0.0.1:{server.port}")
    finally:
        server.stop()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def full_session(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], name: str, reranker: Path, expected_doc: str
) -> None:
    """What a user does with an attached collection: query (reranked), hybrid, label, evaluate."""
    code, out, err = run_cli(
        capsys, "query", PASSWORD_QUERY, "-c", name, "--json", "-n", "10", "--rerank", "--reranker", str(reranker)
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["collection"] == name and len(data["candidates"]) == 10
    assert data["candidates"][0]["doc_id"] == expected_doc
    assert all("rerank_rank" in c for c in data["candidates"])

    hybrid = workspace.search(PASSWORD_QUERY, name, "hybrid", 10)
    assert expected_doc in {hit.chunk.doc_id for hit in hybrid.hits[:3]}
    assert any("password" in hit.chunk.text.lower() for hit in workspace.search("password", name, "bm25", 5).hits)

    view, _ = workspace.explore(PASSWORD_QUERY, name, "hybrid", 10, 3, str(reranker))
    golden = workspace.golden
    golden.create_set("theirs")
    qid = golden.add_query("theirs", PASSWORD_QUERY)
    top = view.right_rows()[0].chunk
    golden.judge("theirs", qid, "chunk", top.chunk_id, 3, who="test")
    golden.judge("theirs", qid, "doc", expected_doc, 3, who="test")
    sheet = workspace.label_sheet(view, "theirs")
    assert sheet.orphans == () and sheet.candidates[0].grade == 3

    code, out, err = run_cli(
        capsys, "eval", "-c", name, "-g", "theirs", "--level", "doc", "--pipelines", "vector,bm25,hybrid", "--json"
    )
    assert code == 0, err
    scores = json.loads(out)["pipelines"]
    assert set(scores) == {"vector", "bm25", "hybrid"}
    assert scores["vector"]["R@10"] == 1.0  # the one relevant document is in the vector top 10


@pytest.mark.slow
def test_a_full_session_never_writes_to_the_attached_directory(
    their_dir: Path, settings: Settings, capsys: pytest.CaptureFixture[str], test_cross_encoder_dir: Path
) -> None:
    before = tree_hashes(their_dir)
    assert "chroma.sqlite3" in before
    code, out, err = run_cli(
        capsys,
        "attach",
        str(their_dir),
        "--collection",
        "lc_docs",
        "--name",
        "lc-docs",
        "--embedder",
        EMBEDDER,
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["convention"] == "langchain" and report["dimension"] == 384 and report["count"] > 100
    assert report["probe"] == {"self_nearest": 5, "probed": 5} and report["warnings"] == []

    workspace = Workspace(settings)
    full_session(workspace, capsys, "lc-docs", test_cross_encoder_dir, "docs/v2.4/password-reset.md")
    hit = workspace.search(PASSWORD_QUERY, "lc-docs", "vector", 1).hits[0]
    assert hit.chunk.source == "docs/v2.4/password-reset.md" and hit.chunk.heading.startswith("page ")

    with pytest.raises(InvalidInputError, match="read-only"):
        workspace.ingest([FILLER], "lc-docs")
    with pytest.raises(InvalidInputError, match="read-only"):
        workspace.delete_collection("lc-docs")
    code, out, err = run_cli(capsys, "detach", "lc-docs")
    assert code == 0 and "lc-docs" not in {c.name for c in Workspace(settings).collections()}
    assert tree_hashes(their_dir) == before


@pytest.mark.slow
def test_llamaindex_metadata_maps_without_flags_and_flags_override(
    their_dir: Path, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    report = workspace.attach(str(their_dir), "li_nodes", EMBEDDER)
    assert report.attachment.convention == "llamaindex" and report.warnings == ()
    hit = workspace.search(PASSWORD_QUERY, "li_nodes", "vector", 1).hits[0]
    # Its ref_doc_id is a sha1 hex digest (as unreadable as a UUID): the file name stands in for it.
    assert (hit.chunk.doc_id, hit.chunk.source) == ("password-reset.md", "password-reset.md")
    assert hit.chunk.heading and hit.chunk.chunk_id.startswith("node-")

    code, _, err = run_cli(
        capsys,
        "attach", str(their_dir), "--collection", "li_nodes", "--name", "li-by-file", "--embedder", EMBEDDER,
        "--id-key", "file_name", "--source-key", "_node_type", "--heading-key", "file_name",
    )  # fmt: skip
    assert code == 0, err
    hit = workspace.search(PASSWORD_QUERY, "li-by-file", "vector", 1).hits[0]
    assert (hit.chunk.doc_id, hit.chunk.source, hit.chunk.heading) == (
        "password-reset.md",
        "TextNode",
        "password-reset.md",
    )


@pytest.mark.slow
def test_the_embedder_is_checked_and_refusals_leave_nothing_behind(
    their_dir: Path, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(their_dir)
    report = workspace.attach(str(their_dir), "li_rotated", EMBEDDER)
    assert report.probe_hits == 0 and report.probe_total == 5
    assert any("own nearest neighbour" in w and "another model" in w for w in report.warnings)

    code, _, err = run_cli(capsys, "attach", str(their_dir), "--collection", "tiny_dims", "--embedder", EMBEDDER)
    assert code == 1 and err.count("\n") == 1
    assert "8-dimensional" in err and "384-dimensional" in err and "Traceback" not in err
    assert not (workspace.settings.data_dir / "attached" / "tiny_dims").exists()

    code, _, err = run_cli(
        capsys, "attach", str(their_dir), "--collection", "chroma_default", "--embedder", "chroma:default"
    )
    assert code == 1 and err.count("\n") == 1
    assert "Chroma's default embedding function" in err and "cannot be loaded here" in err and EMBEDDER in err

    report = workspace.attach(str(their_dir), "chroma_default", EMBEDDER)
    assert any("Chroma's default embedding function" in w for w in report.warnings)
    assert report.probe_hits == 5

    code, _, err = run_cli(capsys, "attach", str(their_dir), "--collection", "nope", "--embedder", EMBEDDER)
    assert code == 1 and "No collection named 'nope'" in err and "lc_docs" in err
    code, _, err = run_cli(capsys, "attach", str(their_dir.parent), "--collection", "lc_docs", "--embedder", EMBEDDER)
    assert code == 1 and "not a Chroma persistent directory" in err
    assert tree_hashes(their_dir) == before


@pytest.mark.slow
def test_a_full_session_on_a_server_leaves_its_collections_unchanged(
    their_server: tuple[ChromaServer, dict[str, int]],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    test_cross_encoder_dir: Path,
) -> None:
    server, counts = their_server
    url = f"http://127.0.0.1:{server.port}"
    code, out, err = run_cli(capsys, "attach", url, "--collection", "li_nodes", "--embedder", EMBEDDER, "--json")
    assert code == 0, err
    assert json.loads(out)["convention"] == "llamaindex" and json.loads(out)["source"] == url
    workspace = Workspace(settings)
    # The nodes' ref_doc_id is a sha1 digest: documents are named by their file instead.
    full_session(workspace, capsys, "li_nodes", test_cross_encoder_dir, "password-reset.md")
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=server.port)
    assert {c.name: c.count() for c in client.list_collections()} == counts
    assert not (settings.data_dir / "attached" / "li_nodes").exists()  # a server is read, never copied


def test_llamaindex_node_text_stands_in_for_an_empty_document() -> None:
    meta = {"_node_content": json.dumps({"text": "the node's text", "metadata": {}}), "ref_doc_id": "doc-1"}
    chunk = map_chunk("n1", None, meta, MetadataKeys())
    assert (chunk.text, chunk.doc_id, chunk.source) == ("the node's text", "doc-1", "")
    plain = map_chunk("x9", "text", {"other": 1}, MetadataKeys())
    assert (plain.doc_id, plain.source, plain.heading) == ("x9", "", "")
