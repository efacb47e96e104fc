"""``reranklens query --rerank``: the JSON shape, the table, and one-line errors.

Each test gets a fresh data dir (the ``settings`` fixture sets ``RERANKLENS_DATA_DIR``) with the
demo marked as done, so the CLI does not ingest the bundled corpus; a tiny corpus is ingested
through the CLI instead. The cross-encoder is the real untrained one: mechanics only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rerank_server import RerankStubServer, overlap_score

from reranklens.cli import main as cli
from reranklens.config import Settings

QUERY = "when do nightly backups run"
LONG_SECTION = " ".join(
    f"Volume {n} is copied to the backup region every night at two, checked against its checksum, "
    "and kept for thirty days unless a retention policy says otherwise."
    for n in range(12)
)


@pytest.fixture
def demo_marked(settings: Settings) -> Path:
    """A fresh data dir whose demo counts as ingested: the CLI will not ingest the bundled corpus."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ".demo-ingested").touch()
    return settings.data_dir


@pytest.fixture
def data_dir(demo_marked: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``demo_marked`` with a three-document collection ``tiny``; 400-token chunks keep the backups
    section (about 330 tokens) in one chunk, longer than the cross-encoder's window."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "backups.md").write_text(f"# Backups\n\n{LONG_SECTION}\n", encoding="utf-8")
    (docs / "passwords.md").write_text("# Passwords\n\nReset your password from the account settings page.\n")
    (docs / "billing.md").write_text("# Billing\n\nInvoices are sent on the first day of the month.\n")
    code = cli.main(["ingest", str(docs), "-c", "tiny", "--chunk-tokens", "400", "--chunk-overlap", "0", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["chunks_total"] == 3
    return demo_marked


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_query_rerank_json_has_the_reranked_fields(
    data_dir: Path, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "query", QUERY, "-c", "tiny", "--rerank", "--reranker", str(test_cross_encoder_dir), "--json"
    )

    assert code == 0, err
    data = json.loads(out)
    candidates = data["candidates"]
    assert len(candidates) == 3
    assert [c["rank"] for c in candidates] == [1, 2, 3]  # first-stage order
    assert sorted(c["rerank_rank"] for c in candidates) == [1, 2, 3]
    for candidate in candidates:
        assert {"rerank_rank", "rerank_score", "rerank_probability", "shift", "status", "tokens_seen"} <= set(candidate)
        assert candidate["rerank_probability"] == pytest.approx(
            1 / (1 + math.exp(-candidate["rerank_score"])), abs=1e-5
        )
        assert candidate["shift"] == candidate["rank"] - candidate["rerank_rank"]
        assert candidate["tokens_seen"] <= candidate["tokens_total"]
    by_rerank = sorted(candidates, key=lambda c: c["rerank_rank"])
    assert [c["rerank_score"] for c in by_rerank] == sorted((c["rerank_score"] for c in candidates), reverse=True)
    backups = next(c for c in candidates if c["doc_id"] == "backups.md")
    assert backups["tokens_seen"] < backups["tokens_total"]
    assert {"rerank", "rerank_tokenize", "rerank_model", "rerank_post"} <= set(data["timings_ms"])
    assert data["reranker"] == {"name": str(test_cross_encoder_dir), "score_kind": "logit", "top_k": 3}
    assert any("untrained" in warning for warning in data["warnings"])


def test_query_rerank_table_prints_the_reranked_order_and_warnings(
    data_dir: Path, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "query", QUERY, "-c", "tiny", "--rerank", "--reranker", str(test_cross_encoder_dir), "-k", "1"
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("compared: Vector search (before) -> Reranked")
    assert lines[2].split()[:3] == ["after", "before", "shift"]
    assert [int(line.split()[0]) for line in lines[3:6]] == [1, 2, 3]
    assert "rerank" in lines[-1]
    assert any(line.startswith("warning:") and "untrained" in line for line in err.splitlines())


def test_query_rerank_with_a_hosted_reranker(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with RerankStubServer(api_key="rk-cli") as server:
        monkeypatch.setenv("RERANKLENS_RERANK_URL", server.base_url)
        monkeypatch.setenv("RERANKLENS_RERANK_API_KEY", "rk-cli")
        code, out, err = run(capsys, "query", QUERY, "-c", "tiny", "--rerank", "--reranker", "http:stub", "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["reranker"]["score_kind"] == "relevance"
    for candidate in data["candidates"]:
        passage = f"{candidate['heading']}\n\n{candidate['text']}" if candidate["heading"] else candidate["text"]
        assert candidate["rerank_score"] == pytest.approx(overlap_score(QUERY, passage), abs=1e-6)
        assert candidate["rerank_probability"] == candidate["rerank_score"]
        assert candidate["tokens_seen"] is None
    assert len(server.requests) == 1


def test_query_rerank_offline_falls_back_to_hybrid_and_says_so(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the documented switch; this machine is offline anyway

    code, out, err = run(capsys, "query", QUERY, "-c", "tiny", "--rerank", "--json")

    assert code == 0, err
    [warning] = err.strip().splitlines()  # one line on stderr, as `answer` and the pages say it
    assert warning.startswith("warning: no cross-encoder available, compared Vector search with Hybrid")
    assert "cross-encoder/ms-marco-MiniLM-L-6-v2" in warning
    data = json.loads(out)
    assert data["compared"] == {"before": "Vector search", "after": data["compared"]["after"], "after_kind": "hybrid"}
    assert data["compared"]["after"].startswith("Hybrid")
    assert "Hugging Face Hub" in data["fallback_reason"]
    assert "reranker" not in data  # nothing was reranked
    assert all(c["rerank_probability"] is None for c in data["candidates"])


@pytest.mark.parametrize("k", ["0", "11"])
def test_query_with_top_k_out_of_range_exits_1(demo_marked: Path, capsys: pytest.CaptureFixture[str], k: str) -> None:
    code, out, err = run(capsys, "query", QUERY, "-c", "tiny", "--top-k", k)

    assert code == 1
    assert out == ""
    assert err.startswith("error: top-k must be between 1 and 10")


def test_query_without_rerank_has_no_rerank_fields(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "query", QUERY, "-c", "tiny", "--json")

    assert code == 0, err
    data = json.loads(out)
    assert "warnings" not in data and "reranker" not in data
    assert all("rerank_rank" not in c for c in data["candidates"])
    assert "rerank" not in data["timings_ms"]


def test_rerank_backend_is_one_flag_away_and_keeps_the_scores(
    data_dir: Path, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = {}
    for backend in ("torch", "onnx"):
        code, out, err = run(
            capsys,
            "--rerank-backend",
            backend,
            "query",
            QUERY,
            "-c",
            "tiny",
            "--rerank",
            "--reranker",
            str(test_cross_encoder_dir),
            "--json",
        )
        assert code == 0, err
        scores[backend] = {c["chunk_id"]: c["rerank_score"] for c in json.loads(out)["candidates"]}
    assert scores["torch"].keys() == scores["onnx"].keys()
    for chunk_id, score in scores["torch"].items():
        assert scores["onnx"][chunk_id] == pytest.approx(score, abs=1e-4)


def test_unknown_rerank_backend_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--rerank-backend", "tensorrt", "collections"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'tensorrt'" in capsys.readouterr().err
