"""Evaluation engine: metric values against pytrec_eval, doc- and chunk-level scoring, the golden
set's edge cases, first-stage recall, latency, and one real-data check on Cranfield.

Real Chroma and the real all-MiniLM-L6-v2 throughout; the +rerank pipelines use the untrained test
cross-encoder, whose scores are noise: those tests check mechanics, never ranking quality.
"""

from __future__ import annotations

import csv
import json
import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import pytrec_eval
from beir_folder import write_beir
from conftest import shared_collection

from reranklens.config import PROJECT_ROOT, Settings
from reranklens.errors import InvalidInputError, ModelUnavailableError, UnknownCollectionError
from reranklens.evaluate.pipelines import (
    FIRST_STAGE_RECALL,
    MEASURES,
    PIPELINES,
    UNJUDGED,
    EvalConfig,
    EvalResult,
    EvaluationCancelled,
    evaluate,
    ranking_to_run,
    score_runs,
)
from reranklens.evaluate.significance import compare_pipelines
from reranklens.golden.store import GoldenQuery, Judgement
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.types import Chunk, Hit
from reranklens.workspace import Workspace

COLLECTION = "tiny"
# Six short documents about distinct topics; 24-token chunks give each of them several chunks.
DOCS = {
    "pw": (
        "Password reset",
        "To reset your password open the account settings page and choose reset password. "
        "A reset link is emailed to you within five minutes. The link expires after one hour, "
        "so request a new one if it has expired. Passwords need twelve characters or more.",
    ),
    "backup": (
        "Nightly backups",
        "Backups of every volume run each night at two in the morning. Snapshots are kept for "
        "thirty days. Restoring a snapshot creates a new volume next to the old one, which you "
        "can attach to any server in the same region.",
    ),
    "billing": (
        "Billing and invoices",
        "Invoices are issued on the first day of each month. You can pay by credit card or by "
        "bank transfer. Overdue invoices suspend the account after fourteen days, and a "
        "suspended account keeps its data for ninety days.",
    ),
    "ratelimit": (
        "API rate limits",
        "The public API allows one hundred requests per minute per key. Requests above the "
        "limit get status 429 with a Retry-After header. Enterprise plans can raise the limit "
        "to one thousand requests per minute.",
    ),
    "twofactor": (
        "Two-factor authentication",
        "Turn on two-factor authentication in the security tab. Scan the QR code with an "
        "authenticator app and enter the six digit code. Keep the recovery codes somewhere safe "
        "in case you lose your phone.",
    ),
    "delete": (
        "Deleting an account",
        "Deleting an account removes all volumes, snapshots and API keys permanently. The owner "
        "must confirm by typing the account name. Deleted accounts cannot be restored by support.",
    ),
}
QUERIES = {
    "q1": "how do I reset my password",
    "q2": "when do the nightly backups run",
    "q3": "what happens when an invoice is overdue",
    "q4": "how many API requests per minute are allowed",
}
QRELS = {"q1": {"pw": 1}, "q2": {"backup": 2}, "q3": {"billing": 1, "delete": 0}, "q4": {"ratelimit": 1}}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The six documents in collection ``tiny`` (golden set ``tiny``, doc-level, from the qrels)."""
    root = tmp_path_factory.mktemp("evaluate")
    folder = write_beir(root / COLLECTION, DOCS, QUERIES, QRELS)
    workspace = Workspace(Settings(data_dir=root / "store"))
    workspace.ingest([folder], COLLECTION, options=ChunkingOptions(max_tokens=24, overlap_tokens=0))
    return workspace


def chunks_of(ws: Workspace) -> dict[str, list[Chunk]]:
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in sorted(ws.store.all_chunks(COLLECTION).chunks, key=lambda c: (c.doc_id, c.position)):
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    return by_doc


def write_golden(ws: Workspace, name: str, judgements: list[tuple[str, str, str, int]]) -> None:
    """A golden set over ``QUERIES`` with (query_id, level, target_id, grade) judgements."""
    ws.golden.write_set(
        name,
        [GoldenQuery(qid, text) for qid, text in QUERIES.items()],
        [Judgement(qid, level, target, grade) for qid, level, target, grade in judgements],  # type: ignore[arg-type]
    )


def pytrec(qrels: dict, run: dict, measures: set[str]) -> dict[str, dict[str, float]]:
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)


def truncated(run: dict[str, dict[str, float]], k: int) -> dict[str, dict[str, float]]:
    return {qid: dict(sorted(docs.items(), key=lambda item: -item[1])[:k]) for qid, docs in run.items()}


# -- metrics against pytrec_eval on a hand-made run -------------------------------------------------


FIXTURE_QRELS = {
    "q1": {"d1": 2, "d2": 0, "d3": 1},
    "q2": {"d4": 1},
    "q3": {"d5": 3, "d6": 1, "d7": 2},
    "q4": {"d8": 1},  # retrieved nothing: scores 0 everywhere
}
FIXTURE_RUN = {
    "q1": {"u9": 1.0, "d1": 1 / 2, "d2": 1 / 3, "d3": 1 / 4},
    # the only relevant doc at rank 12: RR@10 is 0, while the untruncated reciprocal rank is 1/12
    "q2": {**{f"u{i}": 1 / (i + 1) for i in range(11)}, "d4": 1 / 12},
    "q3": {"d7": 1.0, "u1": 1 / 2, "d5": 1 / 3, "u2": 1 / 4, "d6": 1 / 5},
    "q4": {},
}


def test_metric_values_equal_pytrec_eval() -> None:
    ours = score_runs(FIXTURE_QRELS, FIXTURE_RUN)
    run = {qid: docs for qid, docs in FIXTURE_RUN.items() if docs}
    reference = pytrec(
        FIXTURE_QRELS, run, {"ndcg_cut.10", "recall.1", "recall.3", "recall.5", "recall.10", "P.3", "success.3"}
    )
    rr10 = pytrec(FIXTURE_QRELS, truncated(run, 10), {"recip_rank"})
    names = {
        "nDCG@10": "ndcg_cut_10",
        "R@1": "recall_1",
        "R@3": "recall_3",
        "R@5": "recall_5",
        "R@10": "recall_10",
        "P@3": "P_3",
        "Hit@3": "success_3",
    }
    assert set(ours) == set(FIXTURE_QRELS)
    assert set(ours["q1"]) == {*MEASURES, UNJUDGED}
    for qid in run:
        for ours_name, pytrec_name in names.items():
            assert ours[qid][ours_name] == pytest.approx(reference[qid][pytrec_name], abs=1e-9), (qid, ours_name)
        assert ours[qid]["RR@10"] == pytest.approx(rr10[qid]["recip_rank"], abs=1e-9), qid
    # the cutoff matters: untruncated, q2's reciprocal rank would be 1/12
    assert ours["q2"]["RR@10"] == 0.0
    assert pytrec(FIXTURE_QRELS, run, {"recip_rank"})["q2"]["recip_rank"] == pytest.approx(1 / 12)
    # hand-checked anchors: q1 relevant d1 (gain 2) at 2 and d3 (gain 1) at 4; ideal d1, d3
    ideal = 2 + 1 / math.log2(3)
    assert ours["q1"]["nDCG@10"] == pytest.approx((2 / math.log2(3) + 1 / math.log2(5)) / ideal, abs=1e-12)
    assert ours["q1"]["RR@10"] == pytest.approx(0.5)
    # q1: 2 relevant (d1, d3; d2 is judged 0) in u9, d1, d2, d3
    assert [ours["q1"][m] for m in ("R@1", "R@3", "R@5", "R@10")] == pytest.approx([0.0, 1 / 2, 1.0, 1.0])
    assert (ours["q1"]["P@3"], ours["q1"]["Hit@3"]) == pytest.approx((1 / 3, 1.0))
    # q3: 3 relevant (d7, d5, d6) at ranks 1, 3 and 5
    assert [ours["q3"][m] for m in ("R@1", "R@3", "R@5", "R@10")] == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0])
    assert (ours["q3"]["P@3"], ours["q3"]["Hit@3"]) == pytest.approx((2 / 3, 1.0))
    # q2: its one relevant document at rank 12 counts for none of the cutoffs
    assert [ours["q2"][m] for m in ("R@10", "P@3", "Hit@3")] == [0.0, 0.0, 0.0]
    assert ours["q4"] == dict.fromkeys([*MEASURES, UNJUDGED], 0.0)


def test_unjudged_is_the_share_of_the_top_10_without_any_judgement() -> None:
    ours = score_runs(FIXTURE_QRELS, FIXTURE_RUN)
    assert ours["q1"][UNJUDGED] == pytest.approx(1 / 4)  # u9; d2 is judged (grade 0)
    assert ours["q2"][UNJUDGED] == pytest.approx(1.0)  # u0..u9
    assert ours["q3"][UNJUDGED] == pytest.approx(2 / 5)
    assert ours["q4"][UNJUDGED] == 0.0


# -- runs from rankings ----------------------------------------------------------------------------


def hit(chunk_id: str, doc_id: str, rank: int) -> Hit:
    return Hit(Chunk(chunk_id, doc_id, f"text of {chunk_id}", "source", 0), rank, 1.0 / rank)


def test_doc_level_run_ranks_each_document_at_its_best_chunk() -> None:
    hits = [hit("a1", "A", 1), hit("b1", "B", 2), hit("a2", "A", 3), hit("c1", "C", 4), hit("b2", "B", 5)]
    assert ranking_to_run(hits, "doc") == {"A": 1.0, "B": 1 / 2, "C": 1 / 3}
    assert list(ranking_to_run(hits, "doc")) == ["A", "B", "C"]
    assert ranking_to_run(hits, "chunk") == {"a1": 1.0, "b1": 1 / 2, "a2": 1 / 3, "c1": 1 / 4, "b2": 1 / 5}
    assert ranking_to_run([], "doc") == {}


# -- scoring level ---------------------------------------------------------------------------------


def test_chunk_and_doc_level_score_the_same_ranking_differently(ws: Workspace) -> None:
    """The top document is relevant, but the labelled chunk is one of its lower chunks: at doc
    level q1 is a perfect hit, at chunk level it scores where that chunk is ranked."""
    hits = ws.search(QUERIES["q1"], COLLECTION, "vector", 50).hits
    top_doc = hits[0].chunk.doc_id
    lower = [h for h in hits if h.chunk.doc_id == top_doc and 1 < h.rank <= 10]
    assert lower, "the fixture documents have several chunks"
    labelled = lower[-1]
    write_golden(ws, "levels", [("q1", "doc", top_doc, 1), ("q1", "chunk", labelled.chunk.chunk_id, 1)])

    doc = evaluate(ws, EvalConfig(COLLECTION, "levels", ("vector",), candidates=50, level="doc"))
    chunk = evaluate(ws, EvalConfig(COLLECTION, "levels", ("vector",), candidates=50, level="chunk"))

    assert (doc.level, chunk.level) == ("doc", "chunk")
    assert doc.pipelines["vector"].per_query["q1"]["RR@10"] == 1.0
    assert doc.pipelines["vector"].per_query["q1"]["R@1"] == 1.0
    assert chunk.pipelines["vector"].per_query["q1"]["RR@10"] == pytest.approx(1 / labelled.rank)
    assert chunk.pipelines["vector"].per_query["q1"]["R@1"] == 0.0
    assert chunk.pipelines["vector"].per_query["q1"]["nDCG@10"] == pytest.approx(1 / math.log2(labelled.rank + 1))
    assert chunk.pipelines["vector"].rankings["q1"] == [h.chunk.chunk_id for h in hits][:10]
    assert doc.pipelines["vector"].rankings["q1"][0] == top_doc


def test_one_labeller_scores_as_before_and_a_team_by_consensus_then_adjudication(ws: Workspace) -> None:
    """Grades kept per person must not change a one-person set's figures (the levels test's numbers), while
    a team's set scores with its consensus and, once decided, the adjudicated grade."""
    hits = ws.search(QUERIES["q1"], COLLECTION, "vector", 50).hits
    top, labelled = hits[0], hits[4]
    config = EvalConfig(COLLECTION, "one-labeller", ("vector",), candidates=50, level="chunk")
    qid = ws.golden.add_query("one-labeller", QUERIES["q1"], query_id="q1")
    ws.golden.judge("one-labeller", qid, "chunk", labelled.chunk.chunk_id, 1, who="ana")
    ws.golden.judge("one-labeller", qid, "chunk", labelled.chunk.chunk_id, 1, who="ana")  # re-grading: still one
    write_golden(ws, "as-imported", [("q1", "chunk", labelled.chunk.chunk_id, 1)])

    alone = evaluate(ws, config).pipelines["vector"].per_query["q1"]
    imported = evaluate(ws, replace(config, golden_set="as-imported")).pipelines["vector"].per_query["q1"]

    assert alone == imported
    assert (alone["RR@10"], alone["R@1"]) == (pytest.approx(1 / labelled.rank), 0.0)
    assert alone["nDCG@10"] == pytest.approx(1 / math.log2(labelled.rank + 1))

    ws.golden.judge("one-labeller", qid, "chunk", top.chunk.chunk_id, 3, who="ana")
    ws.golden.judge("one-labeller", qid, "chunk", top.chunk.chunk_id, 0, who="bob")
    assert evaluate(ws, config).pipelines["vector"].per_query["q1"]["RR@10"] == 1.0  # median of 3 and 0: 2
    ws.golden.adjudicate("one-labeller", qid, "chunk", top.chunk.chunk_id, 0, who="rita")
    decided = evaluate(ws, config).pipelines["vector"].per_query["q1"]
    assert decided["RR@10"] == pytest.approx(1 / labelled.rank)  # the decision (0) wins over the median


def test_auto_level_picks_chunk_when_the_set_has_relevant_chunk_labels(ws: Workspace) -> None:
    some_chunk = chunks_of(ws)["backup"][0].chunk_id
    write_golden(ws, "auto-both", [("q1", "doc", "pw", 1), ("q2", "chunk", some_chunk, 2)])
    write_golden(ws, "auto-doc", [("q1", "doc", "pw", 1), ("q2", "chunk", some_chunk, 0)])

    both = evaluate(ws, EvalConfig(COLLECTION, "auto-both", ("bm25",)))
    doc_only = evaluate(ws, EvalConfig(COLLECTION, "auto-doc", ("bm25",)))

    assert both.level == "chunk"
    assert list(both.queries) == ["q2"]  # q1 has no chunk-level label at all
    assert "query q1: no relevant chunk-level label" in both.skipped
    assert doc_only.level == "doc"  # a grade-0 chunk label is not a relevant one
    assert list(doc_only.queries) == ["q1"]


def test_cancel_stops_an_evaluation_between_queries(ws: Workspace) -> None:
    write_golden(ws, "cancel-me", [("q1", "doc", "pw", 1), ("q2", "doc", "backup", 1), ("q3", "doc", "billing", 1)])
    cancel = threading.Event()
    seen: list[str] = []

    def progress(done: int, total: int, pipeline: str) -> None:
        seen.append(pipeline)
        cancel.set()  # the job list's Cancel, clicked while the first query runs

    with pytest.raises(EvaluationCancelled, match=r"^The evaluation was cancelled; nothing was saved\.$"):
        evaluate(ws, EvalConfig(COLLECTION, "cancel-me", ("bm25",)), progress, cancel)
    assert seen == ["bm25"]  # the second query never ran


# -- golden-set edge cases -------------------------------------------------------------------------


def test_empty_golden_set(ws: Workspace) -> None:
    ws.golden.create_set("empty")
    with pytest.raises(InvalidInputError, match=r"^Golden set 'empty' has no query with a relevant doc-level label"):
        evaluate(ws, EvalConfig(COLLECTION, "empty"))


@pytest.mark.parametrize("judgements", [[], [("q1", "doc", "pw", 0), ("q3", "chunk", "whatever", 0)]])
def test_queries_without_a_relevant_label(ws: Workspace, judgements: list) -> None:
    write_golden(ws, "unlabelled", judgements)
    with pytest.raises(InvalidInputError) as error:
        evaluate(ws, EvalConfig(COLLECTION, "unlabelled", ("vector",)))
    assert str(error.value) == (
        "Golden set 'unlabelled' has no query with a relevant doc-level label: "
        "label some chunks on the Label page (or import judgements) first."
    )


def test_unknown_golden_set(ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match=r"No golden set named 'nope' \(existing: "):
        evaluate(ws, EvalConfig(COLLECTION, "nope"))


def test_unknown_collection(ws: Workspace) -> None:
    with pytest.raises(UnknownCollectionError, match=r"No collection named 'missing' \(existing: tiny\)"):
        evaluate(ws, EvalConfig("missing", COLLECTION))


def test_config_checks_pipelines_and_candidates() -> None:
    with pytest.raises(InvalidInputError, match=r"Unknown pipeline\(s\) rerank: choose from vector, vector\+rerank"):
        EvalConfig(COLLECTION, COLLECTION, ("vector", "rerank"))
    with pytest.raises(InvalidInputError, match=r"Unknown pipeline\(s\) \(none given\)"):
        EvalConfig(COLLECTION, COLLECTION, ())
    with pytest.raises(InvalidInputError, match="Candidate count must be between 1 and 200, got 0."):
        EvalConfig(COLLECTION, COLLECTION, candidates=0)


def test_one_query_golden_set(ws: Workspace) -> None:
    ws.golden.replace_set("one", {"q2": QUERIES["q2"]}, {"q2": {"backup": 1}})
    result = evaluate(ws, EvalConfig(COLLECTION, "one", ("vector", "bm25")))
    assert list(result.queries) == ["q2"]
    for pipeline in result.pipelines.values():
        assert pipeline.mean == {name: pipeline.per_query["q2"][name] for name in pipeline.mean}
        assert 0.0 < pipeline.mean["nDCG@10"] <= 1.0  # 'backup' is among the 6 documents ranked
    comparison = compare_pipelines(result, "vector", "bm25")
    assert (comparison.p_value, comparison.ci_low, comparison.ci_high) == (None, None, None)
    assert len(comparison.deltas) == 1


def test_queries_without_relevant_labels_are_skipped_and_listed(ws: Workspace) -> None:
    result = evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("bm25",)))
    assert list(result.queries) == ["q1", "q2", "q3", "q4"]
    assert result.skipped == ()
    write_golden(ws, "partly", [("q1", "doc", "pw", 1), ("q3", "doc", "delete", 0)])
    partly = evaluate(ws, EvalConfig(COLLECTION, "partly", ("bm25",)))
    assert list(partly.queries) == ["q1"]
    assert partly.skipped == (
        "query q2: no relevant doc-level label",
        "query q3: no relevant doc-level label",
        "query q4: no relevant doc-level label",
    )


# -- first stage, reranking, latency -------------------------------------------------------------


def test_first_stage_recall_is_recall_at_n(ws: Workspace) -> None:
    """With N=3 chunks, three relevant documents for q1 cannot all be candidates; first_stage_recall
    is R@N of the first-stage ranking, checked against pytrec_eval on an independent search."""
    n = 3
    qrels = {**QRELS, "q1": {"pw": 1, "backup": 1, "billing": 1}}
    ws.golden.replace_set("recall", QUERIES, qrels)
    result = evaluate(ws, EvalConfig(COLLECTION, "recall", ("vector", "bm25", "hybrid"), candidates=n, level="doc"))
    for pipeline in ("vector", "bm25", "hybrid"):
        run = {
            qid: ranking_to_run(ws.search(text, COLLECTION, pipeline, n).hits, "doc") for qid, text in QUERIES.items()
        }
        reference = pytrec(qrels, run, {f"recall.{n}"})
        per_query = result.pipelines[pipeline].per_query
        for qid in QUERIES:
            assert per_query[qid][FIRST_STAGE_RECALL] == pytest.approx(reference[qid][f"recall_{n}"], abs=1e-9)
            # without a reranker the first stage is the ranking: at most N=3 documents, so R@3 == R@N
            assert per_query[qid][FIRST_STAGE_RECALL] == per_query[qid]["R@3"]
        assert per_query["q1"][FIRST_STAGE_RECALL] < 1.0
        assert result.pipelines[pipeline].mean[FIRST_STAGE_RECALL] == pytest.approx(
            np.mean([reference[q][f"recall_{n}"] for q in QUERIES]), abs=1e-9
        )


def test_rerank_pipeline_reorders_the_first_stage_candidates(ws: Workspace, test_cross_encoder_dir: Path) -> None:
    n = 5  # chunk level and N <= 10: the stored top-10 ranking holds every candidate
    write_golden(
        ws,
        "chunks",
        [("q1", "chunk", chunks_of(ws)["pw"][0].chunk_id, 1), ("q2", "chunk", chunks_of(ws)["backup"][1].chunk_id, 1)],
    )
    config = EvalConfig(
        COLLECTION,
        "chunks",
        ("vector", "vector+rerank"),
        candidates=n,
        level="chunk",
        reranker=str(test_cross_encoder_dir),
    )
    result = evaluate(ws, config)
    assert result.reranker == str(test_cross_encoder_dir)
    vector, reranked = result.pipelines["vector"], result.pipelines["vector+rerank"]
    passages = {chunk.chunk_id: chunk.passage for chunk in ws.store.all_chunks(COLLECTION).chunks}
    reranker = ws.reranker(str(test_cross_encoder_dir))
    for qid, query in result.queries.items():
        first_stage = vector.rankings[qid]
        assert len(first_stage) == n
        assert sorted(reranked.rankings[qid]) == sorted(first_stage)
        # The reranked order is the reranker's: its scores for the same candidates, best first (ties keep
        # the first-stage order).
        scores = [s.raw for s in reranker.score(query, [passages[cid] for cid in first_stage])]
        by_score = [first_stage[i] for i in sorted(range(n), key=lambda i: -scores[i])]
        assert reranked.rankings[qid] == by_score, (qid, scores)
        assert reranked.per_query[qid][FIRST_STAGE_RECALL] == vector.per_query[qid][FIRST_STAGE_RECALL]
    assert reranked.mean[FIRST_STAGE_RECALL] == vector.mean[FIRST_STAGE_RECALL]
    # The seeded test cross-encoder disagrees with vector search somewhere: a reranker that changed nothing
    # could not give these rankings.
    assert any(reranked.rankings[qid] != vector.rankings[qid] for qid in result.queries)


def test_latency_has_p50_and_p95_per_stage(ws: Workspace, test_cross_encoder_dir: Path) -> None:
    result = evaluate(
        ws,
        EvalConfig(COLLECTION, COLLECTION, ("vector", "vector+rerank", "bm25"), reranker=str(test_cross_encoder_dir)),
    )
    stages = {
        "vector": {"embed", "vector_search", "total"},
        "vector+rerank": {"embed", "vector_search", "rerank", "total"},
        "bm25": {"bm25_search", "total"},
    }
    for name, expected in stages.items():
        latency = result.pipelines[name].latency_ms
        assert set(latency) == expected, name
        for stage, values in latency.items():
            assert set(values) == {"p50", "p95"}
            assert 0.0 <= values["p50"] <= values["p95"], (name, stage)
        # each query's total is the sum of its stages, so it dominates every stage at every percentile
        for stage in expected - {"total"}:
            assert latency["total"]["p50"] >= latency[stage]["p50"], (name, stage)
            assert latency["total"]["p95"] >= latency[stage]["p95"], (name, stage)


def test_every_pipeline_is_charged_the_same_query_embedding(ws: Workspace) -> None:
    # Before: vector embedded the query and hybrid found the vector in the cache (264 ms against 0.01 ms).
    result = evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("vector", "bm25", "hybrid")))
    vector, hybrid = result.pipelines["vector"].latency_ms, result.pipelines["hybrid"].latency_ms
    assert vector["embed"] == hybrid["embed"]
    assert "embed" not in result.pipelines["bm25"].latency_ms
    again = evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("hybrid", "vector")))
    assert again.pipelines["vector"].latency_ms["embed"] == again.pipelines["hybrid"].latency_ms["embed"]


def test_rerank_latency_measures_the_model_not_the_score_cache(
    ws: Workspace, test_cross_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evaluate never answers a rerank from the score cache (its latency would then time a dict lookup):
    every candidate of every +rerank pipeline reaches the model, on every run, even when another pipeline
    or an earlier run scored the same (query, passage)."""
    # With N >= every chunk, vector and hybrid retrieve the same candidates: identical rerank work.
    n = len(ws.store.all_chunks(COLLECTION).chunks)
    ws = Workspace(ws.settings)  # same store, empty score cache (other tests have filled the module's)
    reranker = ws.reranker(str(test_cross_encoder_dir))
    rows_scored: list[int] = []
    forward = reranker._forward  # type: ignore[attr-defined]

    def counting_forward(features: dict[str, np.ndarray]) -> np.ndarray:
        rows_scored.append(len(features["input_ids"]))
        return forward(features)

    monkeypatch.setattr(reranker, "_forward", counting_forward)
    config = EvalConfig(
        COLLECTION, COLLECTION, ("vector+rerank", "hybrid+rerank"), candidates=n, reranker=str(test_cross_encoder_dir)
    )
    per_run = 2 * len(QRELS) * n  # two pipelines, every query, every candidate
    first = evaluate(ws, config)
    assert sum(rows_scored) == per_run
    evaluate(ws, config)
    assert sum(rows_scored) == 2 * per_run
    assert (ws.score_cache.hits, ws.score_cache.misses, len(ws.score_cache)) == (0, 0, 0)
    for pipeline in first.pipelines.values():
        assert pipeline.latency_ms["rerank"]["p50"] > 0.0


def test_rerank_pipelines_are_dropped_when_no_cross_encoder_loads(ws: Workspace, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    result = evaluate(ws, EvalConfig(COLLECTION, COLLECTION, PIPELINES, reranker=missing))
    assert list(result.pipelines) == ["vector", "bm25", "hybrid"]
    [skipped] = result.skipped
    assert skipped.startswith("pipelines vector+rerank, hybrid+rerank: no cross-encoder could be loaded (")
    assert missing in skipped
    assert result.reranker is None
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("vector+rerank",), reranker=missing))


def test_progress_reports_every_query_and_pipeline(ws: Workspace) -> None:
    calls: list[tuple[int, int, str]] = []
    evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("vector", "bm25")), lambda *call: calls.append(call))
    assert calls[-1] == (4, 4, "done")
    assert calls[:-1] == [(done, 4, p) for done in range(4) for p in ("vector", "bm25")]


def test_to_json_round_trips(ws: Workspace) -> None:
    result = evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("vector", "bm25"), candidates=20))
    data = json.loads(json.dumps(result.to_json()))
    assert data["collection"] == COLLECTION and data["golden_set"] == COLLECTION and data["level"] == "doc"
    assert data["candidates"] == 20 and data["reranker"] is None
    assert list(data["pipelines"]) == ["vector", "bm25"]
    assert set(data["pipelines"]["vector"]) == {*MEASURES, UNJUDGED, FIRST_STAGE_RECALL}
    assert data["per_query"]["bm25"]["q3"]["nDCG@10"] == result.pipelines["bm25"].per_query["q3"]["nDCG@10"]
    assert data["queries"] == QUERIES


def test_a_saved_result_reads_back_as_the_same_result(ws: Workspace) -> None:
    result = evaluate(ws, EvalConfig(COLLECTION, COLLECTION, ("vector", "bm25"), candidates=20, level="doc"))
    back = EvalResult.from_json(json.loads(json.dumps(result.to_json())))
    assert back.config == result.config and back.level == result.level and back.queries == result.queries
    for name, pipeline in result.pipelines.items():
        assert back.pipelines[name].mean == pipeline.mean
        assert back.pipelines[name].per_query == pipeline.per_query
        assert back.pipelines[name].latency_ms == pipeline.latency_ms
    with pytest.raises(InvalidInputError, match="Not a saved evaluation run"):
        EvalResult.from_json({"collection": COLLECTION})


# -- real data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cranfield:
    folder: Path
    workspace: Workspace


@pytest.fixture(scope="module")
def cranfield(tmp_path_factory: pytest.TempPathFactory) -> Cranfield:
    folder = shared_collection("cranfield")
    workspace = Workspace(Settings(data_dir=tmp_path_factory.mktemp("cranfield") / "store"))
    workspace.ingest([folder], "cranfield")  # also imports golden set 'cranfield' (doc-level qrels)
    return Cranfield(folder, workspace)


def exact_cosine_ndcg10(cranfield: Cranfield) -> tuple[float, int]:
    """nDCG@10 of exact (brute-force) cosine search, documents ranked by their best chunk, scored
    by pytrec_eval on the qrels read straight from the BEIR files: no evaluate.py code involved."""
    ws, folder = cranfield.workspace, cranfield.folder
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = {str(r["_id"]): str(r["text"]) for r in map(json.loads, lines)}
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8", newline="") as handle:
        for row in list(csv.reader(handle, delimiter="\t"))[1:]:
            qrels.setdefault(row[0], {})[row[1]] = int(float(row[2]))
    judged = {qid: targets for qid, targets in qrels.items() if any(g > 0 for g in targets.values())}

    ids, vectors = ws.store.embeddings("cranfield")
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    doc_of = {c.chunk_id: c.doc_id for c in ws.store.all_chunks("cranfield").chunks}
    docs = sorted(set(doc_of.values()))
    doc_index = np.array([docs.index(doc_of[chunk_id]) for chunk_id in ids])
    embedder = ws.embedder(str(ws.store.metadata("cranfield")["embedder"]))

    run: dict[str, dict[str, float]] = {}
    for qid in judged:
        query = embedder.embed_query(queries[qid])
        similarity = vectors @ (query / np.linalg.norm(query))
        best = np.full(len(docs), -np.inf)
        np.maximum.at(best, doc_index, similarity)
        top = np.argsort(-best)[:100]
        run[qid] = {docs[i]: float(best[i]) for i in top}
    values = pytrec(judged, run, {"ndcg_cut.10"})
    return float(np.mean([values[qid]["ndcg_cut_10"] for qid in judged])), len(judged)


@pytest.mark.slow
def test_cranfield_vector_ndcg_matches_exact_cosine_search(cranfield: Cranfield) -> None:
    result = evaluate(
        cranfield.workspace, EvalConfig("cranfield", "cranfield", ("vector",), candidates=50, level="doc")
    )
    ours = result.pipelines["vector"].mean["nDCG@10"]
    exact, query_count = exact_cosine_ndcg10(cranfield)

    artifacts = PROJECT_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "cranfield_ndcg.txt").write_text(
        f"Cranfield, all-MiniLM-L6-v2, vector pipeline, N=50, doc level, {query_count} queries\n"
        f"evaluate() nDCG@10 (Chroma HNSW):        {ours:.6f}\n"
        f"exact cosine + pytrec_eval nDCG@10:      {exact:.6f}\n"
        f"difference:                              {ours - exact:+.6f}\n",
        encoding="utf-8",
    )
    assert len(result.queries) == query_count == 225
    assert abs(ours - exact) <= 0.005
