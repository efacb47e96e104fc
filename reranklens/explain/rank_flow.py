"""One query through several stages (BM25, vector, hybrid, each reranker): each stage's own ranking, the
union of their top-k, and with a golden set each stage's nDCG@10 and Hit@3.

Stages are named as Evaluate's pipelines are (``bm25``, ``vector``, ``hybrid``, ``vector+rerank:NAME``,
``hybrid+rerank``), and scored with Evaluate's own code (``ranking_to_run`` and ``score_runs``), so a
figure here is the per-query figure of an evaluation run with the same settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reranklens.errors import InvalidInputError, RerankLensError
from reranklens.evaluate.pipelines import (
    LevelChoice,
    is_pipeline,
    is_reranked,
    ranking_to_run,
    score_runs,
    split_pipeline,
)
from reranklens.golden.store import Level
from reranklens.types import Chunk, Hit, RerankResult, SearchMode, SearchResult
from reranklens.views.explore import display_name
from reranklens.workspace import Workspace

FLOW_MEASURES = ("nDCG@10", "Hit@3")
FIRST_STAGES: tuple[SearchMode, ...] = ("bm25", "vector", "hybrid")
_FIRST_TITLES = {"bm25": "BM25", "vector": "Vector", "hybrid": "Hybrid"}


@dataclass(frozen=True)
class QueryGrades:
    """One query's judgements at the level Evaluate would score it: chunk ids or document ids -> grade."""

    query_id: str
    level: Level
    qrels: dict[str, int]

    def grade(self, chunk: Chunk) -> int | None:
        return self.qrels.get(chunk.chunk_id if self.level == "chunk" else chunk.doc_id)


@dataclass(frozen=True)
class StageRanking:
    """One stage's ranking of the query (``hits`` in its own order), or the ``error`` that stopped it."""

    stage: str
    title: str
    hits: tuple[Hit, ...] = ()
    error: str | None = None
    metrics: dict[str, float] | None = None

    def rank_of(self) -> dict[str, int]:
        return {hit.chunk.chunk_id: position for position, hit in enumerate(self.hits, start=1)}


@dataclass(frozen=True)
class RankFlow:
    query: str
    k: int
    stages: tuple[StageRanking, ...]
    grades: QueryGrades | None = None
    note: str | None = None  # why there are no metrics, when a golden set was picked
    chunks: dict[str, Chunk] = field(default_factory=dict, repr=False)

    def ranked(self) -> list[StageRanking]:
        return [s for s in self.stages if s.error is None]

    def union_top_k(self) -> list[str]:
        """Chunk ids in the top-k of any stage, in order of first appearance (stage by stage)."""
        seen: dict[str, None] = {}
        for stage in self.ranked():
            for hit in stage.hits[: self.k]:
                seen.setdefault(hit.chunk.chunk_id)
        return list(seen)


def stage_title(stage: str, default_reranker: str | None = None) -> str:
    """``"hybrid+rerank:/m/ce"`` -> "Hybrid → ce"; ``"vector"`` -> "Vector"."""
    first, reranker = split_pipeline(stage)
    title = _FIRST_TITLES.get(first, first)
    if not is_reranked(stage):
        return title
    return f"{title} → {display_name(reranker or default_reranker or 'reranker')}"


def stage_options(first: SearchMode, rerankers: Sequence[str]) -> list[str]:
    """The stages a person can pick: each first stage, and ``first`` reranked by each of ``rerankers``."""
    return [*FIRST_STAGES, *(f"{first}+rerank:{name}" for name in rerankers)]


def query_grades(workspace: Workspace, golden_set: str, query: str, level: LevelChoice = "auto") -> QueryGrades | None:
    """``query``'s judgements in ``golden_set`` (None when the set does not hold the query). ``auto``
    picks the level as Evaluate does: chunk when the set has any relevant chunk label, else doc."""
    golden = workspace.golden
    if golden_set not in golden.names():
        raise InvalidInputError(
            f"Unknown golden set '{golden_set}': pick one of {', '.join(golden.names()) or 'none'}."
        )
    found = golden.find_query(golden_set, query)
    if found is None:
        return None
    chunk_qrels = golden.qrels(golden_set, "chunk")
    chosen: Level
    if level == "auto":
        chosen = "chunk" if any(any(g > 0 for g in t.values()) for t in chunk_qrels.values()) else "doc"
    else:
        chosen = level
    qrels = chunk_qrels if chosen == "chunk" else golden.qrels(golden_set, "doc")
    return QueryGrades(found.query_id, chosen, dict(qrels.get(found.query_id, {})))


def stage_metrics(hits: Sequence[Hit], grades: QueryGrades) -> dict[str, float]:
    """nDCG@10 and Hit@3 of one ranking, with Evaluate's scoring code."""
    qid = grades.query_id
    scores = score_runs({qid: grades.qrels}, {qid: ranking_to_run(hits, grades.level)})[qid]
    return {name: scores[name] for name in FLOW_MEASURES}


def rank_flow(
    workspace: Workspace,
    query: str,
    collection: str,
    stages: Sequence[str],
    candidates: int = 50,
    k: int = 3,
    golden_set: str | None = None,
    level: LevelChoice = "auto",
    searches: Mapping[str, SearchResult] | None = None,
    reranked: Mapping[str, RerankResult | str] | None = None,
) -> RankFlow:
    """Rank ``query`` through each of ``stages`` (each stage's own output: a first-stage search, or that
    search's candidates reranked). ``searches`` (by mode) and ``reranked`` (by stage: a result, or the error
    line of a reranker that failed) are results already in hand (the page's), reused rather than computed
    again, so a paid reranker is never asked twice. A reranker that fails gets its error line; the others
    stand."""
    unknown = [s for s in stages if not is_pipeline(s)]
    if unknown or not stages:
        raise InvalidInputError(
            f"Unknown stage(s) {', '.join(unknown) or '(none given)'}: choose bm25, vector, hybrid, "
            "vector+rerank:NAME or hybrid+rerank:NAME."
        )
    found: dict[str, SearchResult] = dict(searches or {})
    grades = query_grades(workspace, golden_set, query, level) if golden_set else None
    note = None
    if golden_set and grades is None:
        note = f"Golden set '{golden_set}' does not hold this query: no metrics."
    elif grades is not None and not any(g > 0 for g in grades.qrels.values()):
        note = f"Golden set '{golden_set}' marks nothing relevant for this query: every metric is 0."
    results: list[StageRanking] = []
    chunks: dict[str, Chunk] = {}
    for stage in dict.fromkeys(stages):
        first, reranker = split_pipeline(stage)
        title = stage_title(stage, workspace.settings.reranker)
        try:
            if first not in found:
                found[first] = workspace.search(query, collection, first, candidates)  # type: ignore[arg-type]
            search = found[first]
            done = (reranked or {}).get(stage)
            if isinstance(done, str):
                results.append(StageRanking(stage, title, error=done))
                continue
            if is_reranked(stage):
                result = done if done is not None else workspace.rerank(search, reranker)
                hits = tuple(r.hit for r in result.hits)
            else:
                hits = search.hits
        except RerankLensError as exc:
            results.append(StageRanking(stage, title, error=str(exc)))
            continue
        chunks.update({hit.chunk.chunk_id: hit.chunk for hit in hits})
        metrics = stage_metrics(hits, grades) if grades is not None else None
        results.append(StageRanking(stage, title, hits, metrics=metrics))
    return RankFlow(query, k, tuple(results), grades, note, chunks)
