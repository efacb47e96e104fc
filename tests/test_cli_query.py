"""The ``reranklens`` command's normal output: ingest reports, query tables and ``--json``."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
CANDIDATE_KEYS = {"chunk_id", "doc_id", "text", "source", "heading", "rank", "score"}
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-query")
    shutil.copytree(FIXTURE_DOCS, root / "docs")
    path = root / "store"
    path.mkdir()
    # A command on `demo` in a new data dir ingests the bundled demo: not wanted here.
    (path / ".demo-ingested").touch()
    return path


@pytest.fixture
def run(data_dir: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["--data-dir", str(data_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="module")
def docs(data_dir: Path) -> Path:
    return data_dir.parent / "docs"


@pytest.fixture
def ingested(run: Run, docs: Path) -> str:
    """The fixture docs in collection ``cli-docs`` (a no-op after the first test)."""
    code, _, err = run("ingest", str(docs), "--collection", "cli-docs")
    assert code == 0, err
    return "cli-docs"


def test_ingest_prints_a_report(run: Run, docs: Path) -> None:
    code, out, err = run("ingest", str(docs / "guide.md"), str(docs / "notes.txt"), "-c", "cli-report")
    assert code == 0, err
    assert out.startswith("Collection 'cli-report': 2 documents, ")
    assert "0 removed" in out
    code, out, _ = run("ingest", str(docs / "guide.md"), str(docs / "notes.txt"), "-c", "cli-report")
    assert code == 0
    assert "(0 added, 0 removed)" in out


def test_ingest_json_report(run: Run, data_dir: Path, tmp_path: Path) -> None:
    beir = tmp_path / "mini-beir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "Otters", "text": "Otters hold hands while they sleep."}\n'
        '{"_id": "d2", "title": "", "text": "Beavers build dams across streams."}\n',
        encoding="utf-8",
    )
    (beir / "queries.jsonl").write_text('{"_id": "q1", "text": "which animals build dams"}\n', encoding="utf-8")
    (beir / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n", encoding="utf-8")
    code, out, err = run(
        "ingest", str(beir), "-c", "cli-beir", "--json", "--chunk-tokens", "64", "--chunk-overlap", "8"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["collection"] == "cli-beir"
    assert (report["documents"], report["chunks_total"], report["chunks_added"], report["chunks_removed"]) == (
        2,
        2,
        2,
        0,
    )
    assert (report["golden_set"], report["golden_queries"], report["golden_judgements"]) == ("mini-beir", 1, 1)
    assert report["skipped"] == []
    assert isinstance(report["seconds"], float) and isinstance(report["chunks_per_second"], float)
    assert Workspace(Settings(data_dir=data_dir)).store.metadata("cli-beir")["chunk_tokens"] == 64


def test_query_json_shape(run: Run, ingested: str) -> None:
    code, out, err = run("query", "how do I reset my password", "-c", ingested, "--json", "-n", "3")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"query", "collection", "mode", "candidates", "timings_ms"}
    assert (result["query"], result["collection"], result["mode"]) == ("how do I reset my password", ingested, "vector")
    assert len(result["candidates"]) == 3
    for rank, candidate in enumerate(result["candidates"], start=1):
        assert set(candidate) == CANDIDATE_KEYS
        assert candidate["rank"] == rank
        assert isinstance(candidate["score"], float)
        assert isinstance(candidate["text"], str) and candidate["text"]
        assert candidate["source"].endswith(candidate["doc_id"])
    top = result["candidates"][0]
    assert top["doc_id"] == "guide.md"
    assert top["heading"].startswith("Guide > Reset")
    assert set(result["timings_ms"]) == {"embed", "vector_search"}


def test_query_json_matches_the_engine(run: Run, ingested: str, data_dir: Path) -> None:
    code, out, _ = run("query", "quokka colony", "-c", ingested, "--json", "--mode", "hybrid", "-n", "4")
    assert code == 0
    result = json.loads(out)
    engine = Workspace(Settings(data_dir=data_dir)).search("quokka colony", ingested, mode="hybrid", candidates=4)
    assert [c["chunk_id"] for c in result["candidates"]] == [h.chunk.chunk_id for h in engine.hits]
    assert [c["score"] for c in result["candidates"]] == [round(h.score, 6) for h in engine.hits]
    assert result["mode"] == "hybrid"
    assert set(result["timings_ms"]) == {"embed", "vector_search", "bm25_search", "fuse"}


def test_query_table_output(run: Run, ingested: str) -> None:
    code, out, err = run("query", "kestrel jesses", "-c", ingested, "--mode", "bm25")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"bm25 search in '{ingested}' for: kestrel jesses"
    assert lines[1].split() == ["rank", "score", "doc_id", "text"]
    assert lines[2].split()[0] == "1"
    assert "page.html" in lines[2]
    assert "Fit the leather jesses" in lines[2]
    assert lines[-1].startswith(f"{len(lines) - 3} candidates; bm25_search ")
    assert err == ""


def test_query_table_shortens_long_text(run: Run, ingested: str) -> None:
    code, out, _ = run("query", "reset password link email", "-c", ingested, "-n", "1")
    assert code == 0
    row = out.splitlines()[2]
    assert "guide.md" in row
    assert row.endswith("…")
    assert "\n" not in row


def test_collections_listing(run: Run, ingested: str) -> None:
    code, out, _ = run("collections")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(ingested))
    assert "3 docs" in line and "embedder=sentence-transformers/all-MiniLM-L6-v2" in line
    code, out, _ = run("collections", "--json")
    listing = {info["name"]: info for info in json.loads(out)}
    assert listing[ingested]["doc_count"] == 3
    assert listing[ingested]["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert listing[ingested]["chunk_count"] > 3


def test_collections_on_an_empty_data_dir_says_how_to_start_and_ingests_nothing(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a command on ``demo`` ingests the demo; listing an empty data dir names the ways to start."""
    empty = tmp_path / "fresh"
    code = cli.main(["--data-dir", str(empty), "collections"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.startswith("No collections yet: reranklens demo (the bundled Acme Cloud demo), reranklens ingest")
    assert not (empty / ".demo-ingested").exists()
    assert Workspace(Settings(data_dir=empty)).collections() == []
    assert cli.main(["--data-dir", str(empty), "collections", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# -- --golden: grades and the query's figures ------------------------------------------------------------

PASSWORD = "how do I reset my password"


@pytest.fixture
def graded(ingested: str, data_dir: Path) -> str:
    """Golden set ``cli-gold``: the password query, ``guide.md`` graded 3 as a document, one other chunk 1."""
    golden = Workspace(Settings(data_dir=data_dir)).golden
    query_id = golden.add_query("cli-gold", PASSWORD)
    golden.judge("cli-gold", query_id, "doc", "guide.md", 3)
    return "cli-gold"


def test_query_golden_json(run: Run, graded: str, data_dir: Path, test_cross_encoder_dir: Path) -> None:
    argv = ("query", PASSWORD, "-c", "cli-docs", "-n", "6", "--rerank", "--reranker", str(test_cross_encoder_dir))
    code, out, err = run(*argv, "--golden", graded, "--json")
    assert code == 0, err
    result = json.loads(out)
    for candidate in result["candidates"]:
        expected = (3, "doc") if candidate["doc_id"] == "guide.md" else (None, None)
        assert (candidate["grade"], candidate["grade_level"]) == expected
    assert set(result["metrics"]) == {"before", "after"}
    for side in ("before", "after"):
        assert list(result["metrics"][side]) == ["nDCG@10", "R@3", "RR@10", "Hit@3"]
    # guide.md is the first stage's top hit (see test_query_json_shape): every "before" figure is perfect.
    assert result["metrics"]["before"] == {"nDCG@10": 1.0, "R@3": 1.0, "RR@10": 1.0, "Hit@3": 1.0}
    # Several chunks of guide.md carry its grade: the best-graded one is the highest after reranking.
    after = min(c["rerank_rank"] for c in result["candidates"] if c["doc_id"] == "guide.md")
    before = next(c["rank"] for c in result["candidates"] if c["rerank_rank"] == after)
    assert result["golden"]["best_graded"] == f"Best-graded chunk: #{before} → #{after} (doc-level grade 3: guide.md)"
    assert result["golden"]["metrics_level"] == "doc"


def test_query_golden_table_has_a_grade_column(run: Run, graded: str, test_cross_encoder_dir: Path) -> None:
    argv = ("query", PASSWORD, "-c", "cli-docs", "-n", "6", "--rerank", "--reranker", str(test_cross_encoder_dir))
    code, out, err = run(*argv, "--golden", graded)
    assert code == 0, err
    lines = out.splitlines()
    assert re.fullmatch(r"Best-graded chunk: #\d+ → #\d+ \(doc-level grade 3: guide.md\)", lines[2])
    assert lines[3].startswith("doc-level: nDCG@10 1.000 -> ")
    assert lines[4].split()[:6] == ["after", "before", "shift", "score", "status", "grade"]
    guide = [line for line in lines[5:] if "guide.md" in line]
    assert guide and all("3 doc" in line for line in guide)


def test_query_golden_unknown_set_is_one_line(run: Run, ingested: str, test_cross_encoder_dir: Path) -> None:
    argv = ("query", PASSWORD, "-c", ingested, "--rerank", "--reranker", str(test_cross_encoder_dir))
    code, out, err = run(*argv, "--golden", "no-such-set")
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("error: No golden set named 'no-such-set'"), err
