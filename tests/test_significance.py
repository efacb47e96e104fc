"""Paired comparison of two pipelines: the randomization test and bootstrap CI on cases whose
answer is known, and per-query wins, losses and ties on an evaluation built by hand."""

from __future__ import annotations

import numpy as np
import pytest

from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import EvalConfig, EvalResult, PipelineResult
from reranklens.evaluate.significance import TIE_EPSILON, compare_pipelines, paired_test


def test_a_constant_improvement_is_significant_and_inside_the_ci() -> None:
    baseline = np.random.default_rng(7).uniform(0.0, 0.8, size=30)
    p_value, low, high = paired_test(baseline, baseline + 0.2)
    assert p_value is not None and low is not None and high is not None
    assert p_value < 0.01
    assert low - 1e-9 <= 0.2 <= high + 1e-9
    p_down, low_down, high_down = paired_test(baseline, baseline - 0.2)
    assert p_down is not None and p_down < 0.01
    assert low_down is not None and high_down is not None and low_down - 1e-9 <= -0.2 <= high_down + 1e-9


def test_identical_scores_give_p_1_and_a_zero_ci() -> None:
    scores = [0.1, 0.5, 0.9, 0.0]
    assert paired_test(scores, scores) == (1.0, 0.0, 0.0)


def test_four_equal_wins_give_the_exact_two_sided_p() -> None:
    """2^4 = 16 sign flips < 10,000 resamples, so scipy enumerates them all: only the observed
    assignment reaches mean +1 and only its mirror -1, so p = 2/16."""
    p_value, low, high = paired_test([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    assert p_value == 0.125
    assert (low, high) == (1.0, 1.0)


def test_three_wins_one_loss_exact_p() -> None:
    """Diffs [+1, +1, +1, -1], observed mean 0.5: under the 16 sign flips the mean is >= 0.5 for
    the 5 flips with at most one negative sign, so p = 2 * 5/16."""
    p_value, _, _ = paired_test([0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0])
    assert p_value == pytest.approx(10 / 16)


def test_fewer_than_two_queries_give_no_statistics() -> None:
    assert paired_test([0.3], [0.9]) == (None, None, None)
    assert paired_test([], []) == (None, None, None)


def test_unpaired_inputs_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="same queries on both sides"):
        paired_test([0.1, 0.2], [0.1, 0.2, 0.3])


def test_the_test_is_reproducible() -> None:
    rng = np.random.default_rng(1)
    baseline, candidate = rng.uniform(size=40), rng.uniform(size=40)
    assert paired_test(baseline, candidate) == paired_test(baseline, candidate)


# -- compare_pipelines on a hand-made evaluation -----------------------------------------------------


# Binary fractions, so the deltas are exact: q1 +0.5, q5 -0.5, q2 -0.25, q4 below TIE_EPSILON, q3 0.
BASELINE = {"q1": 0.25, "q2": 0.75, "q3": 0.5, "q4": 0.375, "q5": 0.875}
CANDIDATE = {"q1": 0.75, "q2": 0.5, "q3": 0.5, "q4": 0.375 + TIE_EPSILON / 10, "q5": 0.375}


def pipeline(name: str, ndcg: dict[str, float]) -> PipelineResult:
    per_query = {qid: {"nDCG@10": value, "R@3": 1.0} for qid, value in ndcg.items()}
    mean = {"nDCG@10": float(np.mean(list(ndcg.values()))), "R@3": 1.0}
    return PipelineResult(name, mean, per_query, latency_ms={"total": {"p50": 1.0, "p95": 2.0}})


@pytest.fixture
def result() -> EvalResult:
    return EvalResult(
        config=EvalConfig("c", "g", ("vector", "vector+rerank")),
        level="doc",
        queries={qid: f"query {qid}" for qid in BASELINE},
        pipelines={"vector": pipeline("vector", BASELINE), "vector+rerank": pipeline("vector+rerank", CANDIDATE)},
        skipped=(),
        wall_s=0.1,
    )


def test_wins_losses_and_ties(result: EvalResult) -> None:
    comparison = compare_pipelines(result, "vector", "vector+rerank")
    assert (comparison.baseline, comparison.candidate, comparison.metric) == ("vector", "vector+rerank", "nDCG@10")
    assert (comparison.wins, comparison.losses, comparison.ties) == (1, 2, 2)
    outcomes = {d.query_id: d.outcome for d in comparison.deltas}
    assert outcomes == {"q1": "win", "q2": "loss", "q3": "tie", "q4": "tie", "q5": "loss"}
    assert comparison.mean_delta == pytest.approx((0.5 - 0.25 + 0.0 + 0.0 - 0.5) / 5)


def test_deltas_are_ordered_by_size_of_change_then_query_id(result: EvalResult) -> None:
    comparison = compare_pipelines(result, "vector", "vector+rerank")
    # |+0.5| (q1) and |-0.5| (q5) tie on size: query id decides
    assert [d.query_id for d in comparison.deltas] == ["q1", "q5", "q2", "q4", "q3"]
    first = comparison.deltas[0]
    assert (first.query, first.baseline, first.candidate) == ("query q1", 0.25, 0.75)
    assert first.delta == 0.5


def test_statistics_come_from_the_paired_test(result: EvalResult) -> None:
    comparison = compare_pipelines(result, "vector", "vector+rerank")
    expected = paired_test(list(BASELINE.values()), list(CANDIDATE.values()))
    assert (comparison.p_value, comparison.ci_low, comparison.ci_high) == expected
    assert comparison.ci_low is not None and comparison.ci_high is not None
    assert comparison.ci_low <= comparison.mean_delta <= comparison.ci_high


def test_another_metric(result: EvalResult) -> None:
    comparison = compare_pipelines(result, "vector", "vector+rerank", metric="R@3")
    assert comparison.ties == 5 and comparison.mean_delta == 0.0
    assert comparison.p_value == 1.0


def test_unknown_pipeline_or_metric(result: EvalResult) -> None:
    with pytest.raises(
        InvalidInputError, match=r"Pipeline 'hybrid' is not in this evaluation \(vector, vector\+rerank\)"
    ):
        compare_pipelines(result, "hybrid", "vector+rerank")
    with pytest.raises(InvalidInputError, match="Unknown metric 'MAP'"):
        compare_pipelines(result, "vector", "vector+rerank", metric="MAP")
