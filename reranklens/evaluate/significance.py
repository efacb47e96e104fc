"""Is pipeline B better than A on this golden set, or is it noise? Paired per-query comparison.

scipy.stats does the statistics (a paired randomization test and a percentile bootstrap of the
mean difference): both are standard in IR evaluation (Smucker et al., 2007) and easy to get subtly
wrong by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import EvalResult

Outcome = Literal["win", "loss", "tie"]
TIE_EPSILON = 1e-9
DEFAULT_RESAMPLES = 10_000


@dataclass(frozen=True)
class QueryDelta:
    query_id: str
    query: str
    baseline: float
    candidate: float
    delta: float
    outcome: Outcome


@dataclass(frozen=True)
class PairedComparison:
    """``candidate`` vs ``baseline`` on one metric: per-query deltas (largest change first),
    win/loss/tie counts, the randomization-test p-value and a 95 % CI of the mean difference.
    ``p_value`` and the CI are None with fewer than 2 queries."""

    metric: str
    baseline: str
    candidate: str
    deltas: tuple[QueryDelta, ...]
    mean_delta: float
    p_value: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def wins(self) -> int:
        return sum(d.outcome == "win" for d in self.deltas)

    @property
    def losses(self) -> int:
        return sum(d.outcome == "loss" for d in self.deltas)

    @property
    def ties(self) -> int:
        return sum(d.outcome == "tie" for d in self.deltas)


def paired_test(
    baseline: list[float] | np.ndarray,
    candidate: list[float] | np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float | None, float | None, float | None]:
    """Two-sided paired randomization test p-value and 95 % bootstrap CI of mean(candidate - baseline)."""
    from scipy import stats

    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if a.shape != b.shape:
        raise InvalidInputError("Paired comparison needs the same queries on both sides.")
    if len(a) < 2:
        return None, None, None
    diff = b - a
    if np.allclose(diff, 0.0):
        return 1.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    test = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(y - x, axis=axis),
        permutation_type="samples",
        n_resamples=resamples,
        alternative="two-sided",
        vectorized=True,
        random_state=rng,
    )
    boot = stats.bootstrap(
        (diff,), np.mean, n_resamples=resamples, confidence_level=0.95, method="percentile", random_state=rng
    )
    return float(test.pvalue), float(boot.confidence_interval.low), float(boot.confidence_interval.high)


def compare_pipelines(
    result: EvalResult, baseline: str, candidate: str, metric: str = "nDCG@10", resamples: int = DEFAULT_RESAMPLES
) -> PairedComparison:
    """Per-query wins and losses of ``candidate`` over ``baseline`` on ``metric``, sorted by |delta|."""
    for name in (baseline, candidate):
        if name not in result.pipelines:
            raise InvalidInputError(f"Pipeline '{name}' is not in this evaluation ({', '.join(result.pipelines)}).")
    base, cand = result.pipelines[baseline].per_query, result.pipelines[candidate].per_query
    if metric not in next(iter(base.values()), {}):
        raise InvalidInputError(f"Unknown metric '{metric}'.")
    qids = list(base)
    deltas = []
    for qid in qids:
        delta = cand[qid][metric] - base[qid][metric]
        outcome: Outcome = "tie" if abs(delta) <= TIE_EPSILON else ("win" if delta > 0 else "loss")
        deltas.append(
            QueryDelta(qid, result.queries.get(qid, ""), base[qid][metric], cand[qid][metric], delta, outcome)
        )
    deltas.sort(key=lambda d: (-abs(d.delta), d.query_id))
    p_value, low, high = paired_test([base[q][metric] for q in qids], [cand[q][metric] for q in qids], resamples)
    return PairedComparison(
        metric=metric,
        baseline=baseline,
        candidate=candidate,
        deltas=tuple(deltas),
        mean_delta=float(np.mean([d.delta for d in deltas])) if deltas else 0.0,
        p_value=p_value,
        ci_low=low,
        ci_high=high,
    )
