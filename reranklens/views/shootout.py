"""Several rerankers over one set of candidates: each one's view, every candidate's rank under each,
and how far each pair agrees (top-k overlap, Kendall's tau).

A reranker that failed (a timeout, a 429, a model that does not load) is an outcome with an ``error``
line and no view; the others are unaffected. Pure assembly of engine results.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from reranklens.errors import InvalidInputError, RerankLensError
from reranklens.types import Chunk, RerankResult, SearchResult
from reranklens.views.explore import ExploreView, check_top_k, latency_stages, reranked_view

log = logging.getLogger(__name__)

MAX_RERANKERS = 3


@dataclass(frozen=True)
class RerankerOutcome:
    """One reranker's part: its view, or the one line that says why it has none."""

    name: str
    view: ExploreView | None = None
    error: str | None = None

    @property
    def rerank(self) -> RerankResult | None:
        return self.view.rerank if self.view else None

    @property
    def latency_ms(self) -> float | None:
        """The reranker's own time (cache lookups included); None when it failed."""
        return self.rerank.timings_ms.get("rerank") if self.rerank else None


@dataclass(frozen=True)
class PairAgreement:
    """How alike two rerankers' orders are. ``overlap``: the share of top-k both put in their top-k;
    ``tau``: Kendall's tau-b over all candidates (1 same order, -1 reversed; None when undefined,
    e.g. a reranker that ties every candidate)."""

    first: str
    second: str
    overlap: float
    tau: float | None


@dataclass(frozen=True)
class RankRow:
    """A candidate's first-stage rank and its rank under each reranker that ran."""

    chunk: Chunk
    first_stage_rank: int
    ranks: dict[str, int]


@dataclass(frozen=True)
class Shootout:
    search: SearchResult
    k: int
    outcomes: tuple[RerankerOutcome, ...]

    @property
    def succeeded(self) -> tuple[RerankerOutcome, ...]:
        return tuple(o for o in self.outcomes if o.view is not None)

    @property
    def failed(self) -> tuple[RerankerOutcome, ...]:
        return tuple(o for o in self.outcomes if o.view is None)

    def outcome(self, name: str) -> RerankerOutcome:
        return next(o for o in self.outcomes if o.name == name)

    def rank_rows(self) -> list[RankRow]:
        """Every candidate in first-stage order with its rank under each successful reranker."""
        ranks = {o.name: {r.hit.chunk.chunk_id: r.rank for r in o.rerank.hits} for o in self.succeeded if o.rerank}
        return [
            RankRow(hit.chunk, hit.rank, {name: by_id[hit.chunk.chunk_id] for name, by_id in ranks.items()})
            for hit in self.search.hits
        ]

    def agreements(self) -> list[PairAgreement]:
        """One entry per pair of successful rerankers, in the order they were asked for."""
        return [
            agreement(a.name, b.name, _order(a), _order(b), self.k)
            for a, b in combinations(self.succeeded, 2)
            if a.rerank and b.rerank
        ]


def _order(outcome: RerankerOutcome) -> list[str]:
    return [r.hit.chunk.chunk_id for r in outcome.rerank.hits] if outcome.rerank else []


def agreement(first: str, second: str, order_a: list[str], order_b: list[str], k: int) -> PairAgreement:
    """Top-k overlap and Kendall's tau (``scipy.stats.kendalltau``, tau-b) of two orders of the same ids.

    >>> agreement("A", "B", ["x", "y", "z"], ["y", "x", "z"], 2).overlap
    1.0
    """
    from scipy.stats import kendalltau

    if set(order_a) != set(order_b):
        raise InvalidInputError("Two rerankers can only be compared on the same candidates.")
    check_top_k(k)
    top = min(k, len(order_a))
    overlap = len(set(order_a[:k]) & set(order_b[:k])) / top if top else 0.0
    rank_b = {chunk: rank for rank, chunk in enumerate(order_b)}
    tau = None
    if len(order_a) >= 2:
        value = float(kendalltau(range(len(order_a)), [rank_b[c] for c in order_a]).statistic)
        tau = None if math.isnan(value) else value
    return PairAgreement(first, second, overlap, tau)


def check_rerankers(names: list[str]) -> list[str]:
    """The distinct names, in order; at most ``MAX_RERANKERS`` of them."""
    distinct = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if len(distinct) > MAX_RERANKERS:
        raise InvalidInputError(f"Compare at most {MAX_RERANKERS} rerankers at once, got {len(distinct)}.")
    return distinct


def shootout(search: SearchResult, results: dict[str, RerankResult | str], k: int) -> Shootout:
    """``results``: per reranker name, its result, or the error line of one that failed."""
    check_top_k(k)
    outcomes = tuple(
        RerankerOutcome(name, view=reranked_view(search, result, k))
        if isinstance(result, RerankResult)
        else RerankerOutcome(name, error=result)
        for name, result in results.items()
    )
    return Shootout(search, k, outcomes)


def run_shootout(
    search: SearchResult, rerankers: Sequence[str], rerank: Callable[[SearchResult, str], RerankResult], k: int = 3
) -> Shootout:
    """Rerank ``search``'s candidates with each of (at most three) ``rerankers`` through ``rerank``, one
    after another so each one's latency is its own. One that fails (cannot load, a 429, a timeout) gets
    its error line; the others' results stand."""
    check_top_k(k)
    results: dict[str, RerankResult | str] = {}
    for name in check_rerankers(list(rerankers)):
        try:
            results[name] = rerank(search, name)
        except RerankLensError as exc:
            log.info("reranker %s failed: %s", name, exc)
            results[name] = str(exc)
    return shootout(search, results, k)


def reranker_latency(outcome: RerankerOutcome) -> dict[str, float]:
    """The reranker's stages alone (tokenize, model, post, other), for a latency table."""
    if outcome.rerank is None:
        return {}
    return {stage: ms for stage, ms in latency_stages(outcome.rerank.timings_ms).items() if stage.startswith("rerank")}
