"""Evaluate retrieval pipelines on a golden set: does reranking help, on which queries, at what cost.

Metrics come from ``ir_measures`` (pytrec_eval underneath), the reference implementation used in
IR research, named as strings (``nDCG@10``, ``R@3``, ``RR@10``, ``P@3``); nothing is hand-written.

Scoring level: a golden set's chunk-level labels are scored on chunks; doc-level labels (BEIR
qrels) on documents, each document ranked where its best chunk is. Grades >= 1 count as relevant
for the binary measures; nDCG uses the grades as gains. Only queries with at least one relevant
label at that level are evaluated (the others are listed in ``skipped``). First-stage misses count:
a relevant item the first stage never retrieved scores as missing for the reranked pipeline too,
and ``first_stage_recall`` (R@N of the candidates) shows that ceiling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import ir_measures
import numpy as np

from reranklens.errors import InvalidInputError, ModelUnavailableError
from reranklens.golden.store import Level
from reranklens.rerank.rerankers import rerank
from reranklens.retrieve.search import check_candidates
from reranklens.types import Hit, RerankResult, SearchMode, SearchResult
from reranklens.workspace import Workspace

log = logging.getLogger(__name__)

PIPELINES = ("vector", "vector+rerank", "bm25", "hybrid", "hybrid+rerank")
# A trace set's pipelines: the application's logged ranking, and that ranking reranked.
TRACE_PIPELINES = ("logged", "logged+rerank")
# Display name -> ir_measures measure. Hit@3 is ir_measures' Success@3.
MEASURES: dict[str, Any] = {
    "R@1": ir_measures.R @ 1,
    "R@3": ir_measures.R @ 3,
    "R@5": ir_measures.R @ 5,
    "R@10": ir_measures.R @ 10,
    "P@3": ir_measures.P @ 3,
    "RR@10": ir_measures.RR @ 10,
    "nDCG@10": ir_measures.nDCG @ 10,
    "Hit@3": ir_measures.Success @ 3,
}
UNJUDGED = "Unjudged@10"
FIRST_STAGE_RECALL = "first_stage_recall"
LevelChoice = Literal["auto", "doc", "chunk"]
ProgressCallback = Callable[[int, int, str], None]
"""Called with (queries done, queries total, current pipeline)."""


@dataclass(frozen=True)
class EvalConfig:
    collection: str
    golden_set: str
    pipelines: tuple[str, ...] = PIPELINES
    candidates: int = 50
    reranker: str | None = None
    level: LevelChoice = "auto"
    # True: ``collection`` names a trace set, whose logged rankings are the first stage.
    traces: bool = False

    def __post_init__(self) -> None:
        known = TRACE_PIPELINES if self.traces else PIPELINES
        unknown = [p for p in self.pipelines if p not in known]
        if unknown or not self.pipelines:
            raise InvalidInputError(
                f"Unknown pipeline(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(known)}."
            )
        check_candidates(self.candidates)


@dataclass(frozen=True)
class PipelineResult:
    name: str
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]
    latency_ms: dict[str, dict[str, float]]
    rankings: dict[str, list[str]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class EvalResult:
    config: EvalConfig
    level: Level
    queries: dict[str, str]
    pipelines: dict[str, PipelineResult]
    skipped: tuple[str, ...]
    wall_s: float
    reranker: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape: pipelines -> metric -> mean, per_query, latency_ms."""
        return {
            "collection": self.config.collection,
            "golden_set": self.config.golden_set,
            "level": self.level,
            "candidates": self.config.candidates,
            "reranker": self.reranker,
            "pipelines": {name: result.mean for name, result in self.pipelines.items()},
            "per_query": {name: result.per_query for name, result in self.pipelines.items()},
            "latency_ms": {name: result.latency_ms for name, result in self.pipelines.items()},
            "queries": self.queries,
            "skipped": list(self.skipped),
            "wall_s": round(self.wall_s, 3),
        }


def ranking_to_run(hits: Sequence[Hit], level: Level) -> dict[str, float]:
    """A ranking as a TREC run for one query: ``{id: score}`` with score = 1/rank.

    At doc level each document takes the rank of its best chunk. Scores are strictly decreasing,
    so pytrec_eval's tie-breaking never reorders anything.
    """
    run: dict[str, float] = {}
    for position, hit in enumerate(hits, start=1):
        key = hit.chunk.chunk_id if level == "chunk" else hit.chunk.doc_id
        if key not in run:
            run[key] = 1.0 / (len(run) + 1) if level == "doc" else 1.0 / position
    return run


def score_runs(qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-query values of every measure in ``MEASURES`` plus ``Unjudged@10`` (share of the top-10
    with no judgement at all). A query with an empty run scores 0 everywhere."""
    per_query: dict[str, dict[str, float]] = {qid: dict.fromkeys(MEASURES, 0.0) for qid in qrels}
    names = {str(measure): name for name, measure in MEASURES.items()}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), qrels, runs):
        per_query[metric.query_id][names[str(metric.measure)]] = float(metric.value)
    for qid in qrels:
        top = sorted(runs.get(qid, {}).items(), key=lambda item: -item[1])[:10]
        judged = sum(doc in qrels[qid] for doc, _ in top)
        per_query[qid][UNJUDGED] = 1.0 - judged / len(top) if top else 0.0
    return per_query


def recall_at(qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, float]], n: int) -> dict[str, float]:
    measure = ir_measures.R @ n
    values = dict.fromkeys(qrels, 0.0)
    for metric in ir_measures.iter_calc([measure], qrels, runs):
        values[metric.query_id] = float(metric.value)
    return values


def evaluate(workspace: Workspace, config: EvalConfig, progress: ProgressCallback | None = None) -> EvalResult:
    """Run every pipeline of ``config`` over the golden set's queries and score them."""
    started = time.perf_counter()
    level, qrels, queries, skipped = _judgements(workspace, config)
    pipelines = list(config.pipelines)
    reranker_name: str | None = None
    if any(p.endswith("+rerank") for p in pipelines):
        try:
            reranker_name = workspace.reranker(config.reranker).name
        except ModelUnavailableError as exc:
            if all(p.endswith("+rerank") for p in pipelines):
                raise
            dropped = [p for p in pipelines if p.endswith("+rerank")]
            skipped = (*skipped, f"pipelines {', '.join(dropped)}: no cross-encoder could be loaded ({exc})")
            pipelines = [p for p in pipelines if not p.endswith("+rerank")]

    runs: dict[str, dict[str, dict[str, float]]] = {p: {} for p in pipelines}
    first_runs: dict[str, dict[str, dict[str, float]]] = {p: {} for p in pipelines}
    timings: dict[str, dict[str, list[float]]] = {p: {} for p in pipelines}
    rankings: dict[str, dict[str, list[str]]] = {p: {} for p in pipelines}
    stages = sorted({p.split("+")[0] for p in pipelines}, key=["vector", "bm25", "hybrid", "logged"].index)
    for done, qid in enumerate(qrels):
        if config.traces:
            trace_id = _trace_for(workspace, config.collection, qid, queries[qid])
            if trace_id is None:
                skipped = (*skipped, f"query {qid}: no trace in '{config.collection}' logged this query")
                continue
            searches: dict[str, SearchResult] = {"logged": workspace.trace_search(config.collection, trace_id)}
        else:
            searches = {
                mode: workspace.search(queries[qid], config.collection, _mode(mode), config.candidates)
                for mode in stages
            }
        for pipeline in pipelines:
            search = searches[pipeline.split("+")[0]]
            stage_ms = dict(search.timings_ms)
            hits: Sequence[Hit] = search.hits
            if pipeline.endswith("+rerank"):
                # No score cache here: latency must measure the model, not a cache filled by another pipeline.
                with_text = [hit for hit in search.hits if hit.chunk.text]  # logged without text: not rerankable
                reranked: RerankResult = rerank(workspace.reranker(config.reranker), search.query, with_text)
                hits = [r.hit for r in reranked.hits]
                stage_ms["rerank"] = reranked.timings_ms.get("rerank", 0.0)
            runs[pipeline][qid] = ranking_to_run(hits, level)
            first_runs[pipeline][qid] = ranking_to_run(search.hits, level)
            rankings[pipeline][qid] = list(runs[pipeline][qid])[:10]
            for stage, ms in stage_ms.items():
                timings[pipeline].setdefault(stage, []).append(ms)
            timings[pipeline].setdefault("total", []).append(sum(stage_ms.values()))
            if progress:
                progress(done, len(qrels), pipeline)
    if progress:
        progress(len(qrels), len(qrels), "done")
    if config.traces:
        qrels = {qid: targets for qid, targets in qrels.items() if qid in runs[pipelines[0]]}
        if not qrels:
            raise InvalidInputError(
                f"No query of golden set '{config.golden_set}' was logged in trace set '{config.collection}': "
                "a trace matches a golden query by trace id = query id, or by the same query text."
            )

    results: dict[str, PipelineResult] = {}
    for pipeline in pipelines:
        per_query = score_runs(qrels, runs[pipeline])
        first = recall_at(qrels, first_runs[pipeline], config.candidates)
        for qid in per_query:
            per_query[qid][FIRST_STAGE_RECALL] = first[qid]
        names = [*MEASURES, UNJUDGED, FIRST_STAGE_RECALL]
        mean = {name: float(np.mean([per_query[q][name] for q in per_query])) for name in names}
        latency = {
            stage: {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}
            for stage, values in timings[pipeline].items()
        }
        results[pipeline] = PipelineResult(pipeline, mean, per_query, latency, rankings[pipeline])
    return EvalResult(
        config=config,
        level=level,
        queries={qid: queries[qid] for qid in qrels},
        pipelines=results,
        skipped=tuple(skipped),
        wall_s=time.perf_counter() - started,
        reranker=reranker_name,
    )


def _judgements(
    workspace: Workspace, config: EvalConfig
) -> tuple[Level, dict[str, dict[str, int]], dict[str, str], tuple[str, ...]]:
    golden = workspace.golden
    queries = golden.queries(config.golden_set)
    chunk_qrels = golden.qrels(config.golden_set, "chunk")
    level: Level
    if config.level == "auto":
        level = "chunk" if any(any(g > 0 for g in t.values()) for t in chunk_qrels.values()) else "doc"
    else:
        level = config.level
    qrels_all = chunk_qrels if level == "chunk" else golden.qrels(config.golden_set, "doc")
    qrels = {qid: targets for qid, targets in qrels_all.items() if any(g > 0 for g in targets.values())}
    skipped = tuple(f"query {qid}: no relevant {level}-level label" for qid in queries if qid not in qrels)
    if not qrels:
        raise InvalidInputError(
            f"Golden set '{config.golden_set}' has no query with a relevant {level}-level label: "
            "label some chunks on the Label page (or import judgements) first."
        )
    # An unknown collection or trace set -> a clear error before any work.
    if config.traces:
        workspace.traces.info(config.collection)
    else:
        workspace.store_for(config.collection).collection(config.collection)
    return level, qrels, queries, skipped


def _trace_for(workspace: Workspace, trace_set: str, query_id: str, query: str) -> str | None:
    """The trace replaying a golden query: the one whose trace id is the query id, else the first whose
    query text is the same (ignoring case and spacing)."""
    if workspace.traces.has(trace_set, query_id):
        return query_id
    return workspace.traces.find(trace_set, query)


def _mode(stage: str) -> SearchMode:
    return {"vector": "vector", "bm25": "bm25", "hybrid": "hybrid"}[stage]  # type: ignore[return-value]
