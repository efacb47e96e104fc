"""Several rerankers in one run: ``vector+rerank:NAME`` pipelines in an evaluation (engine and CLI),
``reranklens query --reranker A --reranker B --json``, and the per-pair agreement numbers.

The rerankers are two untrained cross-encoders with different seeds and the LLM reranker against the
local OpenAI-protocol server: real cost, meaningless scores. These tests check mechanics only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from beir_folder import write_beir
from openai_server import OpenAIStubServer

from reranklens.cli import main as cli
from reranklens.cli.evaluate import pairs
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import EvalConfig, evaluate, split_pipeline
from reranklens.views.shootout import agreement
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_openai", "fixtures_rerankers"]

DOCS = {
    "pw": ("Password reset", "Open the account settings page and choose reset password; a link arrives by email."),
    "backup": ("Nightly backups", "Backups of every volume run each night at two in the morning."),
    "billing": ("Invoices", "Invoices are issued on the first day of each month and paid by card or transfer."),
    "ratelimit": ("Rate limits", "The API allows one hundred requests per minute per key."),
    "twofactor": ("Two-factor login", "Scan the QR code with an authenticator app and enter the six digit code."),
    "delete": ("Deleting an account", "Deleting an account removes all volumes and keys permanently."),
    "region": ("Regions", "Servers run in Frankfurt, Virginia and Singapore."),
    "support": ("Support hours", "Support answers tickets from eight to six on weekdays."),
}
QUERIES = {
    "q1": "how do I reset my password",
    "q2": "when do the nightly backups run",
    "q3": "how many API requests per minute are allowed",
}
QRELS = {"q1": {"pw": 1}, "q2": {"backup": 1}, "q3": {"ratelimit": 1}}
LLM = "openai:gpt-4o-mini"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def tiny(chat_settings: Settings, tmp_path: Path) -> Workspace:
    """Collection and golden set ``tiny`` in a workspace that can reach the local OpenAI server."""
    folder = write_beir(tmp_path / "tiny", DOCS, QUERIES, QRELS)
    workspace = Workspace(chat_settings)
    workspace.ingest([folder], "tiny")
    (chat_settings.data_dir / ".demo-ingested").touch()
    return workspace


@pytest.fixture
def run(tiny: Workspace, openai_env: OpenAIStubServer, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["--data-dir", str(tiny.settings.data_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_pipeline_names_carry_their_reranker() -> None:
    assert split_pipeline("hybrid+rerank:openai:gpt-4o-mini?mode=pointwise") == (
        "hybrid",
        "openai:gpt-4o-mini?mode=pointwise",
    )
    assert split_pipeline("vector+rerank") == ("vector", None)
    config = EvalConfig("c", "g", ("vector", "vector+rerank", "vector+rerank:B"), reranker="A")
    assert [config.reranker_of(p) for p in config.pipelines] == [None, "A", "B"]
    for bad in ("bm25+rerank:A", "vector+rerank:", "vector+rerank:  ", "vector+rerankA"):
        with pytest.raises(InvalidInputError, match="vector\\+rerank:NAME"):
            EvalConfig("c", "g", (bad,))


def test_one_evaluation_holds_two_cross_encoders_and_an_llm(
    tiny: Workspace, chat_server: OpenAIStubServer, test_cross_encoder_dir: Path, second_cross_encoder_dir: Path
) -> None:
    a, b = str(test_cross_encoder_dir), str(second_cross_encoder_dir)
    names = ("vector", f"vector+rerank:{a}", f"vector+rerank:{b}", f"vector+rerank:{LLM}")
    result = evaluate(tiny, EvalConfig("tiny", "tiny", names, candidates=10))
    assert list(result.pipelines) == list(names)
    assert [result.pipelines[p].reranker for p in names] == [None, a, b, LLM]
    # Two heads with different seeds order the candidates differently on at least one query.
    assert result.pipelines[names[1]].rankings != result.pipelines[names[2]].rankings
    # Only the LLM costs money: one call per query (10 candidates fit one window), priced per 1,000 queries.
    assert [result.pipelines[p].cost is None for p in names] == [True, True, True, False]
    cost = result.pipelines[names[3]].cost
    assert cost is not None and cost["calls"] == len(QUERIES) == len(chat_server.requests)
    assert cost["usd"] and cost["usd_per_1k_queries"] == pytest.approx(cost["usd"] / len(QUERIES) * 1000)
    assert set(result.to_json()["cost"]) == {names[3]}
    # Significance between any two: each against vector, and every pair of reranked pipelines.
    assert pairs(result) == [
        (names[1], "vector"),
        (names[2], "vector"),
        (names[3], "vector"),
        (names[2], names[1]),
        (names[3], names[1]),
        (names[3], names[2]),
    ]


def test_a_reranker_that_fails_drops_only_its_pipeline(
    tiny: Workspace, chat_server: OpenAIStubServer, test_cross_encoder_dir: Path, tmp_path: Path
) -> None:
    a, missing = str(test_cross_encoder_dir), str(tmp_path / "no-model")
    chat_server.fail_with = 429
    names = ("vector", f"vector+rerank:{a}", f"vector+rerank:{missing}", f"vector+rerank:{LLM}")
    result = evaluate(tiny, EvalConfig("tiny", "tiny", names, candidates=10))
    assert list(result.pipelines) == ["vector", f"vector+rerank:{a}"]
    assert result.skipped[0].startswith(f"pipelines vector+rerank:{missing}: no cross-encoder could be loaded (")
    assert result.skipped[1].startswith(f"pipeline vector+rerank:{LLM}: stopped at query q1 (")
    assert "(429)" in result.skipped[1]


def test_cli_eval_prints_one_row_per_reranker_and_compares_them(
    run: Run, test_cross_encoder_dir: Path, second_cross_encoder_dir: Path
) -> None:
    a, b = f"vector+rerank:{test_cross_encoder_dir}", f"vector+rerank:{second_cross_encoder_dir}"
    code, out, err = run(
        "eval", "-c", "tiny", "-g", "tiny", "-n", "10", "--pipelines", f"vector,{a},{b},vector+rerank:{LLM}",
        "--fail-under", f"{a}:R@10=0",
    )  # fmt: skip
    assert code == 0, err
    rows = [line.split()[0] for line in out.splitlines()[:5]]
    assert rows == ["pipeline", "vector", a, b, f"vector+rerank:{LLM}"]
    assert f"{b} vs {a} on nDCG@10: mean Δ" in out
    assert f"vector+rerank:{LLM} vs {b} on nDCG@10" in out
    [llm_latency] = [line for line in out.splitlines() if line.startswith(f"latency vector+rerank:{LLM}")]
    assert "per 1,000 queries (3 calls," in llm_latency
    assert "per 1,000 queries" not in "".join(line for line in out.splitlines() if line.startswith(f"latency {a}"))
    assert err.count("untrained classification head") == 2  # each head warns once, by name


def test_cli_eval_names_an_unknown_pipeline_in_a_gate(run: Run) -> None:
    code, out, err = run("eval", "-c", "tiny", "-g", "tiny", "--pipelines", "vector", "--fail-under", "x:R@10=0")
    assert code == 1 and out == ""
    assert err.startswith("error: Unknown pipeline 'x' in --fail-under")


def test_query_json_with_two_rerankers_has_reranks_per_candidate(
    run: Run, test_cross_encoder_dir: Path, second_cross_encoder_dir: Path
) -> None:
    a, b = str(test_cross_encoder_dir), str(second_cross_encoder_dir)
    code, out, err = run("query", "reset password", "-c", "tiny", "--rerank", "--reranker", a, "--json")
    assert code == 0, err
    single = json.loads(out)
    assert all("reranks" not in c for c in single["candidates"])  # one reranker: the shape as before
    code, out, err = run(
        "query", "reset password", "-c", "tiny", "--rerank", "--reranker", a, "--reranker", b, "--json", "-k", "2"
    )
    assert code == 0, err
    both: dict[str, Any] = json.loads(out)
    assert len(both["candidates"]) == len(DOCS)
    for candidate in both["candidates"]:
        assert set(candidate["reranks"]) == {a, b}
        for name in (a, b):
            entry = candidate["reranks"][name]
            assert set(entry) == {"rank", "score", "probability", "shift", "status"}
            assert entry["shift"] == candidate["rank"] - entry["rank"]
        # The existing fields are the first reranker's, exactly as with it alone (top-k 3 vs 2 aside).
        alone = next(c for c in single["candidates"] if c["chunk_id"] == candidate["chunk_id"])
        assert candidate["rerank_rank"] == alone["rerank_rank"] == candidate["reranks"][a]["rank"]
        assert candidate["rerank_score"] == alone["rerank_score"]
    for name in (a, b):
        ranks = sorted(c["reranks"][name]["rank"] for c in both["candidates"])
        assert ranks == list(range(1, len(DOCS) + 1))
        in_top = [c for c in both["candidates"] if c["reranks"][name]["rank"] <= 2]
        assert all(c["reranks"][name]["status"] in ("stayed_in_top_k", "entered_top_k") for c in in_top)
    [pair] = both["agreement"]
    assert (pair["first"], pair["second"]) == (a, b)
    assert -1.0 <= pair["kendall_tau"] <= 1.0 and pair["top_k_overlap"] in (0.0, 0.5, 1.0)
    assert [r["name"] for r in both["rerankers"]] == [a, b]
    assert all(r["cost"] is None and r["latency_ms"] > 0 for r in both["rerankers"])


def test_query_with_a_failing_reranker_keeps_the_others(
    run: Run, chat_server: OpenAIStubServer, test_cross_encoder_dir: Path
) -> None:
    a = str(test_cross_encoder_dir)
    chat_server.fail_with = 429
    code, out, err = run(
        "query", "reset password", "-c", "tiny", "--rerank", "--reranker", a, "--reranker", LLM, "--json"
    )
    assert code == 1
    data = json.loads(out)
    assert all(set(c["reranks"]) == {a} for c in data["candidates"])
    assert data["rerankers"][1] == {"name": LLM, "error": "OpenAI rate limit reached (429): wait a minute and retry."}
    assert err.splitlines() == [f"error: reranker {LLM}: OpenAI rate limit reached (429): wait a minute and retry."]


def test_query_text_output_with_an_llm_shows_its_cost_and_repair(
    run: Run, chat_server: OpenAIStubServer, test_cross_encoder_dir: Path
) -> None:
    a = str(test_cross_encoder_dir)
    code, out, err = run("query", "reset password", "-c", "tiny", "--rerank", "--reranker", a, "--reranker", LLM)
    assert code == 0, err
    assert f"{LLM}: " in out and ", 1 calls, $" in out
    assert f"note: {LLM} repaired its answer: candidates 1-8: text around the ranking was ignored" in err
    assert "top-3 overlap" in out and "Kendall's tau" in out


def test_more_than_three_rerankers_is_one_clear_error(run: Run) -> None:
    argv = ["query", "q", "-c", "tiny", "--rerank"] + [f"--reranker={n}" for n in "ABCD"]
    code, out, err = run(*argv)
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: Compare at most 3 rerankers at once, got 4."]


def test_agreement_is_overlap_and_kendall_tau_worked_by_hand() -> None:
    # [x, y, z] vs [y, x, z]: pairs (x,y) discordant, (x,z) and (y,z) concordant -> tau = (2 - 1) / 3.
    pair = agreement("A", "B", ["x", "y", "z"], ["y", "x", "z"], 1)
    assert pair.overlap == 0.0
    assert pair.tau == pytest.approx(1 / 3)
    assert agreement("A", "B", ["x", "y", "z"], ["z", "y", "x"], 3).tau == pytest.approx(-1.0)
    with pytest.raises(InvalidInputError, match="same candidates"):
        agreement("A", "B", ["x"], ["y"], 1)
