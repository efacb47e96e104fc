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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import ir_measures
import numpy as np

from reranklens.errors import InvalidInputError, ModelUnavailableError, RerankLensError
from reranklens.golden.store import Level
from reranklens.rerank.rerankers import Reranker, rerank
from reranklens.retrieve.search import check_candidates, check_query
from reranklens.types import Chunk, Embedder, Hit, RerankCost, RerankResult, SearchMode, SearchResult
from reranklens.workspace import Workspace

log = logging.getLogger(__name__)

PIPELINES = ("vector", "vector+rerank", "bm25", "hybrid", "hybrid+rerank")
# ``vector+rerank:NAME`` / ``hybrid+rerank:NAME``: that first stage reranked by NAME (a registry model, a
# directory, a Hub name, http:MODEL or openai:MODEL), so one run can hold any number of rerankers.
RERANKED_STAGES = ("vector", "hybrid")
NAMED_RERANK = "+rerank:"
# A trace set's pipelines: the application's logged ranking, and that ranking reranked (by the default
# reranker, or by NAME in ``logged+rerank:NAME``).
TRACE_PIPELINES = ("logged", "logged+rerank")
TRACE_STAGE = "logged"
# A connected live retriever's pipelines: its own ranking, and that ranking reranked (``live+rerank:NAME``).
LIVE_PIPELINES = ("live", "live+rerank")
LIVE_STAGE = "live"
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


class EvaluationCancelled(RerankLensError):
    """The user cancelled an evaluation from the job list; nothing was saved."""


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
    # True: ``collection`` names a connection, whose live answers are the first stage.
    live: bool = False

    def __post_init__(self) -> None:
        if self.live:
            unknown = [p for p in self.pipelines if not is_live_pipeline(p)]
            choices = f"{', '.join(LIVE_PIPELINES)}, or live+rerank:NAME for any reranker NAME"
        elif self.traces:
            unknown = [p for p in self.pipelines if not is_trace_pipeline(p)]
            choices = f"{', '.join(TRACE_PIPELINES)}, or logged+rerank:NAME for any reranker NAME"
        else:
            unknown = [p for p in self.pipelines if not is_pipeline(p)]
            choices = f"{', '.join(PIPELINES)}, or vector+rerank:NAME / hybrid+rerank:NAME for any reranker NAME"
        if unknown or not self.pipelines:
            raise InvalidInputError(
                f"Unknown pipeline(s) {', '.join(unknown) or '(none given)'}: choose from {choices}."
            )
        check_candidates(self.candidates)

    def reranker_of(self, pipeline: str) -> str | None:
        """The reranker a pipeline uses (None: none, or the configured default for plain ``+rerank``)."""
        return split_pipeline(pipeline)[1] or (self.reranker if pipeline.endswith("+rerank") else None)


def split_pipeline(name: str) -> tuple[str, str | None]:
    """``"hybrid+rerank:openai:gpt-4o-mini"`` -> ``("hybrid", "openai:gpt-4o-mini")``;
    ``"vector+rerank"`` -> ``("vector", None)``; ``"bm25"`` -> ``("bm25", None)``."""
    stage, sep, reranker = name.partition(NAMED_RERANK)
    if sep:
        return stage, reranker.strip()
    return name.split("+")[0], None


def is_pipeline(name: str) -> bool:
    stage, reranker = split_pipeline(name)
    return name in PIPELINES or (stage in RERANKED_STAGES and bool(reranker))


def is_trace_pipeline(name: str) -> bool:
    stage, reranker = split_pipeline(name)
    return name in TRACE_PIPELINES or (stage == TRACE_STAGE and bool(reranker))


def is_live_pipeline(name: str) -> bool:
    stage, reranker = split_pipeline(name)
    return name in LIVE_PIPELINES or (stage == LIVE_STAGE and bool(reranker))


def is_reranked(name: str) -> bool:
    return name.endswith("+rerank") or NAMED_RERANK in name


@dataclass(frozen=True)
class PipelineResult:
    """``cost``: for a paid reranker (an LLM), the calls, tokens and dollars of the whole run and
    ``usd_per_1k_queries`` (None when the model's price is unknown); None for local models."""

    name: str
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]
    latency_ms: dict[str, dict[str, float]]
    rankings: dict[str, list[str]] = field(default_factory=dict, repr=False)
    reranker: str | None = None
    cost: dict[str, float | None] | None = None


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
            "traces": self.config.traces,
            "live": self.config.live,
            "level": self.level,
            "candidates": self.config.candidates,
            "reranker": self.reranker,
            "pipelines": {name: result.mean for name, result in self.pipelines.items()},
            "per_query": {name: result.per_query for name, result in self.pipelines.items()},
            "latency_ms": {name: result.latency_ms for name, result in self.pipelines.items()},
            "rerankers": {name: result.reranker for name, result in self.pipelines.items() if result.reranker},
            "cost": {name: result.cost for name, result in self.pipelines.items() if result.cost is not None},
            "queries": self.queries,
            "skipped": list(self.skipped),
            "wall_s": round(self.wall_s, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalResult:
        """A result back from ``to_json`` (a saved run), so a page can show it again after a reload.

        The top-10 rankings are not saved, so they come back empty. Raises ``InvalidInputError`` when
        ``data`` is not a saved evaluation.
        """
        try:
            names = tuple(data["pipelines"])
            config = EvalConfig(
                collection=data["collection"],
                golden_set=data["golden_set"],
                pipelines=names,
                candidates=int(data["candidates"]),
                reranker=data.get("reranker"),
                level=data["level"],  # the level it was scored at: a rerun scores the same way
                traces=bool(data.get("traces", False)),
                live=bool(data.get("live", False)),
            )
            pipelines = {
                name: PipelineResult(name, data["pipelines"][name], data["per_query"][name], data["latency_ms"][name])
                for name in names
            }
            return cls(
                config=config,
                level=data["level"],
                queries=dict(data["queries"]),
                pipelines=pipelines,
                skipped=tuple(data.get("skipped", ())),
                wall_s=float(data.get("wall_s", 0.0)),
                reranker=data.get("reranker"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"Not a saved evaluation run (missing or bad field {exc}).") from exc


class Ranked(Protocol):
    """Anything placed in a ranking: a search ``Hit``, or a row of an Explore view."""

    @property
    def chunk(self) -> Chunk: ...


def ranking_to_run(hits: Sequence[Ranked], level: Level) -> dict[str, float]:
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


def evaluate(
    workspace: Workspace,
    config: EvalConfig,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> EvalResult:
    """Run every pipeline of ``config`` over the golden set's queries and score them.

    A reranker that cannot be loaded, or fails on a query (a 429, a timeout), drops its pipelines with
    a line in ``skipped``; the others run on. When every pipeline is dropped the first error is raised.
    ``cancel`` (set by the server's job list) is checked before each query: ``EvaluationCancelled``.
    """
    started = time.perf_counter()
    level, qrels, queries, skipped_queries = _judgements(workspace, config)
    notes: list[str] = []
    pipelines = list(config.pipelines)
    rerankers: dict[str, Reranker] = {}
    errors: list[RerankLensError] = []
    wanted: dict[str | None, list[str]] = {}
    for pipeline in pipelines:
        if is_reranked(pipeline):
            wanted.setdefault(config.reranker_of(pipeline), []).append(pipeline)
    for name, using in wanted.items():
        try:
            model = workspace.reranker(name)
        except ModelUnavailableError as exc:
            errors.append(exc)
            notes.append(f"pipelines {', '.join(using)}: no cross-encoder could be loaded ({exc})")
            pipelines = [p for p in pipelines if p not in using]
            continue
        rerankers.update(dict.fromkeys(using, model))
    if not pipelines:
        raise errors[0]

    runs: dict[str, dict[str, dict[str, float]]] = {p: {} for p in pipelines}
    first_runs: dict[str, dict[str, dict[str, float]]] = {p: {} for p in pipelines}
    timings: dict[str, dict[str, list[float]]] = {p: {} for p in pipelines}
    rankings: dict[str, dict[str, list[str]]] = {p: {} for p in pipelines}
    costs: dict[str, RerankCost] = {}
    failed: set[str] = set()
    stages = sorted({split_pipeline(p)[0] for p in pipelines}, key=["vector", "bm25", "hybrid", "logged", "live"].index)
    embedder = None
    if {"vector", "hybrid"} & set(stages):
        embedder = workspace.collection_embedder(config.collection)
        embedder.embed_query(next(iter(queries.values())))  # the first call pays one-off start-up costs
    for done, qid in enumerate(qrels):
        if cancel is not None and cancel.is_set():
            raise EvaluationCancelled("The evaluation was cancelled; nothing was saved.")
        embed_ms = 0.0
        if config.traces:
            trace_id = trace_for(workspace, config.collection, qid, queries[qid])
            if trace_id is None:
                skipped_queries = (
                    *skipped_queries,
                    f"query {qid}: no trace in '{config.collection}' logged this query",
                )
                continue
            searches: dict[str, SearchResult] = {"logged": workspace.trace_search(config.collection, trace_id)}
        elif config.live:
            try:
                answer = workspace.live_search(config.collection, queries[qid], config.candidates)
            except RerankLensError as exc:
                # One query the retriever could not answer is noted; a retriever that answers none is an error.
                errors.append(exc)
                skipped_queries = (*skipped_queries, f"query {qid}: {exc}")
                continue
            notes.extend(f"query {qid}: {problem}" for problem in answer.problems)
            searches = {"live": answer.search}
        else:
            embed_ms = _embed_once(workspace, embedder, queries[qid]) if embedder else 0.0
            searches = {
                mode: workspace.search(queries[qid], config.collection, _mode(mode), config.candidates)
                for mode in stages
            }
        for pipeline in pipelines:
            if pipeline in failed:
                continue
            search = searches[split_pipeline(pipeline)[0]]
            stage_ms = dict(search.timings_ms)
            if "embed" in stage_ms:
                # Every pipeline that embeds the query is charged the same, freshly measured embedding,
                # not whatever the query-vector cache happened to hold when its search ran.
                stage_ms["embed"] = embed_ms
            hits: Sequence[Hit] = search.hits
            if pipeline in rerankers:
                # No score cache here: latency must measure the model, not a cache filled by another pipeline.
                with_text = [hit for hit in search.hits if hit.chunk.text]  # logged without text: not rerankable
                try:
                    reranked: RerankResult = rerank(rerankers[pipeline], search.query, with_text)
                except RerankLensError as exc:
                    failed.add(pipeline)
                    errors.append(exc)
                    notes.append(f"pipeline {pipeline}: stopped at query {qid} ({exc})")
                    continue
                hits = [r.hit for r in reranked.hits]
                stage_ms["rerank"] = reranked.timings_ms.get("rerank", 0.0)
                if reranked.cost is not None:
                    costs[pipeline] = costs.get(pipeline, RerankCost()) + reranked.cost
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
    pipelines = [p for p in pipelines if p not in failed]
    if not pipelines:
        raise errors[0]
    if config.live:
        qrels = {qid: targets for qid, targets in qrels.items() if qid in runs[pipelines[0]]}
        if not qrels:
            raise errors[0]
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
        reranker = rerankers[pipeline].name if pipeline in rerankers else None
        cost = cost_summary(costs[pipeline], len(qrels)) if pipeline in costs else None
        results[pipeline] = PipelineResult(pipeline, mean, per_query, latency, rankings[pipeline], reranker, cost)
    default = next((r.name for p, r in rerankers.items() if p.endswith("+rerank") and p in results), None)
    return EvalResult(
        config=config,
        level=level,
        queries={qid: queries[qid] for qid in qrels},
        pipelines=results,
        skipped=(*skipped_queries, *notes),
        wall_s=time.perf_counter() - started,
        reranker=default or next((r.reranker for r in results.values() if r.reranker), None),
    )


def _embed_once(workspace: Workspace, embedder: Embedder, query: str) -> float:
    """Embed ``query`` with the model (never the cache) and leave the vector in the workspace's query-vector
    cache for the searches that follow; returns the milliseconds the model took."""
    query = check_query(query)
    started = time.perf_counter()
    vector = embedder.embed_query(query)
    elapsed_ms = (time.perf_counter() - started) * 1000
    workspace.query_vectors.put((embedder.name, query), vector)
    return elapsed_ms


def cost_summary(cost: RerankCost, queries: int) -> dict[str, float | None]:
    """A run's calls, tokens and dollars, and the dollars per 1,000 queries (None: price unknown)."""
    per_1k = None if cost.usd is None or queries == 0 else cost.usd / queries * 1000
    return {
        "calls": cost.calls,
        "prompt_tokens": cost.prompt_tokens,
        "completion_tokens": cost.completion_tokens,
        "usd": cost.usd,
        "usd_per_1k_queries": per_1k,
    }


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
    elif config.live:
        workspace.connections.get(config.collection)
    else:
        workspace.store_for(config.collection).collection(config.collection)
    return level, qrels, queries, skipped


def trace_for(workspace: Workspace, trace_set: str, query_id: str, query: str) -> str | None:
    """The trace replaying a golden query: the one whose trace id is the query id, else the first whose
    query text is the same (ignoring case and spacing); None when no trace logged it."""
    if workspace.traces.has(trace_set, query_id):
        return query_id
    return workspace.traces.find(trace_set, query)


def _mode(stage: str) -> SearchMode:
    return {"vector": "vector", "bm25": "bm25", "hybrid": "hybrid"}[stage]  # type: ignore[return-value]
