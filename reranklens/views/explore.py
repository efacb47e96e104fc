"""One Explore view: first-stage candidates next to a second ranking of them, compared.

The right-hand ranking is the candidates reranked by a cross-encoder when one loads; when none
can (an offline machine without a local model), it is hybrid search, so the view still shows
what a second opinion changes. Pure assembly of engine results: no I/O beyond the workspace.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reranklens.errors import InvalidInputError
from reranklens.rerank.rerankers import RERANK_STAGES
from reranklens.types import Chunk, Hit, RerankResult, SearchResult, is_truncated
from reranklens.views.compare import Comparison, Status, compare_rankings

RightKind = Literal["rerank", "hybrid"]
MIN_TOP_K, MAX_TOP_K = 1, 10
# Raw scores spread less than this across all candidates: the reranker is not discriminating.
FLAT_SCORE_SPREAD = 1e-3


@dataclass(frozen=True)
class ViewRow:
    """One candidate with its place in both rankings (None where it is absent from one)."""

    chunk: Chunk
    left_rank: int | None
    left_score: float | None
    right_rank: int | None
    right_score: float | None
    shift: int | None
    status: Status
    similarity: float | None = None
    probability: float | None = None
    tokens_seen: int | None = None
    tokens_total: int | None = None

    @property
    def truncated(self) -> bool:
        return is_truncated(self.tokens_seen, self.tokens_total)


@dataclass(frozen=True)
class ExploreView:
    query: str
    collection: str
    k: int
    left_title: str
    right_title: str
    right_kind: RightKind
    left: SearchResult
    right_mode: str
    rows: tuple[ViewRow, ...]
    comparison: Comparison
    rerank: RerankResult | None
    timings_ms: dict[str, float]
    alarms: tuple[str, ...]

    def left_rows(self) -> list[ViewRow]:
        return sorted((r for r in self.rows if r.left_rank is not None), key=lambda r: r.left_rank or 0)

    def right_rows(self) -> list[ViewRow]:
        return sorted((r for r in self.rows if r.right_rank is not None), key=lambda r: r.right_rank or 0)


def check_top_k(k: int) -> int:
    if not MIN_TOP_K <= k <= MAX_TOP_K:
        raise InvalidInputError(f"top-k must be between {MIN_TOP_K} and {MAX_TOP_K}, got {k}.")
    return k


def latency_stages(timings_ms: dict[str, float]) -> dict[str, float]:
    """Stages that add up to the total, for display: the reranker's total is replaced by its parts
    (tokenize, model, post-processing) plus ``rerank_other`` (cache lookups, sorting, bookkeeping).

    >>> latency_stages({"embed": 5.0, "rerank": 10.0, "rerank_model": 7.0, "rerank_tokenize": 1.0})
    {'embed': 5.0, 'rerank_tokenize': 1.0, 'rerank_model': 7.0, 'rerank_other': 2.0}
    """
    stages = {stage: ms for stage, ms in timings_ms.items() if not stage.startswith("rerank")}
    if "rerank" in timings_ms:
        parts = {stage: timings_ms[stage] for stage in RERANK_STAGES if timings_ms.get(stage)}
        stages.update(parts)
        stages["rerank_other"] = max(0.0, timings_ms["rerank"] - sum(parts.values()))
    return stages


STAGE_NAMES = {
    "embed": "Query embedding",
    "endpoint": "Your retriever (endpoint)",
    "vector_search": "Vector search",
    "bm25_search": "BM25 search",
    "fuse": "Fusion (RRF)",
    "rerank": "Rerank",
    "rerank_tokenize": "Rerank: tokenize",
    "rerank_model": "Rerank: model",
    "rerank_post": "Rerank: post-processing",
    "rerank_other": "Rerank: cache and bookkeeping",
}


def stage_name(stage: str) -> str:
    """A timing stage as a person reads it: ``vector_search`` -> "Vector search"; a stage of the second
    first-stage search of a fallback view (``hybrid_vector_search``) -> "Hybrid: vector search".

    >>> stage_name("rerank_model"), stage_name("hybrid_bm25_search"), stage_name("odd_stage")
    ('Rerank: model', 'Hybrid: BM25 search', 'odd stage')
    """
    if stage in STAGE_NAMES:
        return STAGE_NAMES[stage]
    prefix, _, rest = stage.partition("_")
    if prefix in ("vector", "hybrid", "bm25") and rest in STAGE_NAMES:
        inner = STAGE_NAMES[rest]
        inner = inner if inner.startswith("BM25") else inner[0].lower() + inner[1:]
        return f"{ {'vector': 'Vector', 'hybrid': 'Hybrid', 'bm25': 'BM25'}[prefix] }: {inner}"
    return stage.replace("_", " ")


def latency_summary(view: ExploreView) -> str:
    """One line of timings for reports: each first-stage step and the reranker's total; a reranking
    answered from the score cache says "cached" and keeps the figure of the run that computed it.

    e.g. "Query embedding 12 ms, Vector search 3 ms, Rerank cached (first run 1,163 ms)"
    """
    parts = [
        f"{stage_name(stage)} {_ms(ms)}" for stage, ms in view.timings_ms.items() if not stage.startswith("rerank")
    ]
    rerank = view.rerank
    if rerank is not None and rerank.all_cached:
        first = (rerank.first_run_ms or {}).get("rerank")
        parts.append(
            f"Rerank cached (first run {_ms(first)})"
            if first is not None
            else "Rerank cached (scored in an earlier run)"
        )
    elif "rerank" in view.timings_ms:
        parts.append(f"Rerank {_ms(view.timings_ms['rerank'])}")
    return ", ".join(parts)


def _ms(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def first_stage_rows(search: SearchResult) -> list[ViewRow]:
    """The first-stage candidates alone, as rows: what Explore shows while the reranker runs."""
    return [
        ViewRow(
            chunk=hit.chunk,
            left_rank=rank,
            left_score=hit.score,
            right_rank=None,
            right_score=None,
            shift=None,
            status="outside",
            similarity=hit.similarity,
        )
        for rank, hit in enumerate(search.hits, start=1)
    ]


def reranked_view(search: SearchResult, rerank: RerankResult, k: int) -> ExploreView:
    """Candidates of ``search`` next to their order under ``rerank``."""
    check_top_k(k)
    by_id = {r.hit.chunk.chunk_id: r for r in rerank.hits}
    comparison = compare_rankings(
        [(h.chunk.chunk_id, h.score) for h in search.hits],
        [(r.hit.chunk.chunk_id, r.raw_score) for r in rerank.hits],
        k,
    )
    rows = []
    for change in comparison.changes:
        reranked = by_id.get(change.chunk_id)
        first = reranked.hit if reranked else _find(search.hits, change.chunk_id)
        rows.append(
            ViewRow(
                chunk=first.chunk,
                left_rank=change.left_rank,
                left_score=change.left_score,
                right_rank=change.right_rank,
                right_score=change.right_score,
                shift=change.shift,
                status=change.status,
                similarity=first.similarity,
                probability=reranked.probability if reranked else None,
                tokens_seen=reranked.tokens_seen if reranked else None,
                tokens_total=reranked.tokens_total if reranked else None,
            )
        )
    timings = {**search.timings_ms, **rerank.timings_ms}
    return ExploreView(
        query=search.query,
        collection=search.collection,
        k=k,
        left_title=search_title(search),
        right_title=f"Reranked ({display_name(rerank.reranker)})",
        right_kind="rerank",
        left=search,
        right_mode="rerank",
        rows=tuple(rows),
        comparison=comparison,
        rerank=rerank,
        timings_ms=timings,
        alarms=rerank_alarms(search, rerank),
    )


def alternative_view(search: SearchResult, other: SearchResult, k: int) -> ExploreView:
    """Two first-stage rankings side by side (vector vs hybrid when no reranker is available)."""
    check_top_k(k)
    comparison = compare_rankings(
        [(h.chunk.chunk_id, h.score) for h in search.hits], [(h.chunk.chunk_id, h.score) for h in other.hits], k
    )
    hits = {h.chunk.chunk_id: h for h in (*other.hits, *search.hits)}
    rows = tuple(
        ViewRow(
            chunk=hits[c.chunk_id].chunk,
            left_rank=c.left_rank,
            left_score=c.left_score,
            right_rank=c.right_rank,
            right_score=c.right_score,
            shift=c.shift,
            status=c.status,
            similarity=hits[c.chunk_id].similarity,
        )
        for c in comparison.changes
    )
    timings = dict(search.timings_ms)
    for stage, ms in other.timings_ms.items():
        timings[stage if stage not in timings else f"{other.mode}_{stage}"] = ms
    return ExploreView(
        query=search.query,
        collection=search.collection,
        k=k,
        left_title=search_title(search),
        right_title=search_title(other),
        right_kind="hybrid",
        left=search,
        right_mode=other.mode,
        rows=rows,
        comparison=comparison,
        rerank=None,
        timings_ms=timings,
        alarms=(),
    )


def rerank_alarms(search: SearchResult, rerank: RerankResult) -> tuple[str, ...]:
    """Silent failures made loud: flat scores, candidates left unscored, an untrained head."""
    alarms = list(rerank.warnings)
    scores = [r.raw_score for r in rerank.hits]
    if len(scores) >= 2 and max(scores) - min(scores) < FLAT_SCORE_SPREAD:
        alarms.append(
            f"All {len(scores)} reranker scores are (nearly) equal (spread {max(scores) - min(scores):.2g}): "
            "the reranker is not telling the candidates apart, so the reranked order means nothing."
        )
    elif len(scores) >= 2 and statistics.pstdev(scores) < FLAT_SCORE_SPREAD * 10:
        alarms.append("Reranker scores barely vary: treat the reranked order with suspicion.")
    if len(rerank.hits) != len(search.hits):
        alarms.append(
            f"The reranker returned {len(rerank.hits)} of {len(search.hits)} candidates: it was not applied to all."
        )
    return tuple(alarms)


def display_name(model: str) -> str:
    """A model's short name for headings: a local directory's last part, a Hub name as is."""
    path = Path(model).expanduser()
    return path.name if model.startswith(("/", ".", "~")) or path.is_dir() else model


def search_title(search: SearchResult) -> str:
    return {
        "vector": "Vector search",
        "bm25": "BM25",
        "hybrid": "Hybrid (vector + BM25)",
        "logged": "Logged retrieval (your application)",
        "live": "Your retriever (live)",
    }[search.mode]


def _find(hits: tuple[Hit, ...], chunk_id: str) -> Hit:
    return next(h for h in hits if h.chunk.chunk_id == chunk_id)
