"""``reranklens answer``: both answers with their cited chunk ids, as text and as JSON, against a real
local OpenAI-protocol server; one-line errors for a missing key, a wrong key and a server that is down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_server import OpenAIStubServer, free_port

from reranklens.cli import main as cli
from reranklens.config import Settings

pytest_plugins = ["fixtures_openai"]

QUERY = "how do I reset my password on mobile"


@pytest.fixture
def data_dir(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A fresh data dir (demo marked as done) holding collection ``tiny`` of four one-chunk documents."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ".demo-ingested").touch()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mobile.md").write_text("# Mobile\n\nOn mobile, reset your password under Security.\n")
    (docs / "passwords.md").write_text("# Passwords\n\nReset your password from the account settings page.\n")
    (docs / "billing.md").write_text("# Billing\n\nInvoices are sent on the first day of the month.\n")
    (docs / "install.md").write_text("# Install\n\nDownload the installer and run it as administrator.\n")
    assert cli.main(["ingest", str(docs), "-c", "tiny", "--json"]) == 0
    capsys.readouterr()
    return settings.data_dir


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_answer_json_has_both_answers_and_their_citations(
    data_dir: Path, openai_env: OpenAIStubServer, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "answer", QUERY, "-c", "tiny", "--top-k", "2", "--reranker", str(test_cross_encoder_dir), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == "gpt-4o-mini" and data["reranked_is"] == "rerank"
    for side in ("vector", "reranked"):
        entry = data[side]
        assert entry["answer"].startswith("According to the context")
        assert entry["cited"] and set(entry["cited"]) <= set(entry["context"])
        assert len(entry["context"]) == 2
        assert entry["usage"]["completion_tokens"] > 0 and entry["usage"]["cost_usd"] > 0
    assert data["cited_only_by_vector"] == sorted(set(data["vector"]["cited"]) - set(data["reranked"]["cited"]))
    bodies = [json.loads(str(r["body"])) for r in openai_env.requests]
    assert [b["model"] for b in bodies] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert all(b["stream"] for b in bodies)  # the same streamed requests as the page

    # The vector context is the first-stage top-2 of the same query.
    code, out, _ = run(capsys, "query", QUERY, "-c", "tiny", "--json")
    assert [c["chunk_id"] for c in json.loads(out)["candidates"][:2]] == data["vector"]["context"]


def test_answer_text_streams_both_answers_then_citations(
    data_dir: Path, openai_env: OpenAIStubServer, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_env.chat_reply = "Use Security [1], not [5]."
    code, out, err = run(
        capsys, "answer", QUERY, "-c", "tiny", "--model", "local-llama", "--reranker", str(test_cross_encoder_dir)
    )
    assert code == 0, err
    assert out.count("Use Security [1], not [5].") == 2
    assert "== Vector search: answer from its top-3 (local-llama) ==" in out
    assert "-- Vector search cites:" in out and "[5] cites no chunk it was given" in out
    assert "cost unknown" in out  # local-llama is not in the price table
    assert json.loads(str(openai_env.requests[0]["body"]))["model"] == "local-llama"


def test_without_a_reranker_the_second_answer_uses_hybrid(
    data_dir: Path, openai_env: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run(
        capsys, "answer", QUERY, "-c", "tiny", "--reranker", "cross-encoder/not-downloaded-model", "--json"
    )
    assert code == 0, err
    assert "warning: no cross-encoder available, the second answer uses Hybrid (vector + BM25)" in err
    assert json.loads(out)["reranked_is"] == "hybrid"


def test_missing_key_is_one_line_before_any_search(
    data_dir: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "answer", QUERY, "-c", "tiny")
    assert (code, out) == (1, "")
    assert err.startswith("error: OPENAI_API_KEY is not set: export it") and err.count("\n") == 1


def test_wrong_key_is_one_line_without_the_key(
    data_dir: Path,
    openai_env: OpenAIStubServer,
    test_cross_encoder_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret")
    code, out, err = run(capsys, "answer", QUERY, "-c", "tiny", "--reranker", str(test_cross_encoder_dir), "--json")
    assert code == 1
    assert err == "error: OpenAI rejected the API key (401): check OPENAI_API_KEY.\n"
    assert "sk-wrong-secret" not in out + err


def test_server_down_is_one_line(
    data_dir: Path,
    openai_env: OpenAIStubServer,
    test_cross_encoder_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    code, _, err = run(capsys, "answer", QUERY, "-c", "tiny", "--reranker", str(test_cross_encoder_dir), "--json")
    assert code == 1
    assert err == "error: Cannot reach the OpenAI API: check OPENAI_BASE_URL and the network.\n"
