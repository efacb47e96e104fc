"""``reranklens query``: one search, optionally reranked, as a table or ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_OK, ensure_demo
from reranklens.errors import InvalidInputError
from reranklens.retrieve.search import MAX_CANDIDATES, MIN_CANDIDATES
from reranklens.retrieve.traces import NO_TEXT
from reranklens.types import SEARCH_MODES, SearchResult
from reranklens.views.explore import ExploreView, check_top_k, reranked_view

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

TEXT_PREVIEW = 70


def add_query_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``query`` on the top-level subparsers."""
    query = commands.add_parser("query", help="search a collection")
    query.add_argument("text", nargs="?", help="the query (not with --trace: the logged one is used)")
    query.add_argument("--collection", "-c", help="the collection to search (not with --trace)")
    query.add_argument(
        "--trace",
        metavar="NAME:TRACE_ID",
        help="replay a logged retrieval of trace set NAME (ranks = the logged order) instead of searching",
    )
    query.add_argument(
        "--candidates", "-n", type=int, default=50, help=f"first-stage candidates, {MIN_CANDIDATES}-{MAX_CANDIDATES}"
    )
    query.add_argument("--mode", choices=SEARCH_MODES, default="vector")
    query.add_argument("--embedder", help="must match the collection's embedder (default: the one it was built with)")
    query.add_argument("--rerank", action="store_true", help="rerank the candidates with a cross-encoder")
    query.add_argument(
        "--reranker", help="cross-encoder name or directory, or http:MODEL (default $RERANKLENS_RERANKER)"
    )
    query.add_argument("--top-k", "-k", type=int, default=3, help="top-k for entered/left status (1-10, default 3)")
    query.add_argument("--json", action="store_true", help="print one JSON object")
    query.set_defaults(handler=cmd_query)


def cmd_query(workspace: Workspace, args: argparse.Namespace) -> int:
    check_top_k(args.top_k)
    if args.trace:
        return _replay_trace(workspace, args)
    if args.text is None or not args.collection:  # an empty query is check_query's to refuse
        raise InvalidInputError(
            "query needs the query text and --collection (or --trace NAME:TRACE_ID to replay a logged retrieval)."
        )
    ensure_demo(workspace)
    result = workspace.search(args.text, args.collection, args.mode, args.candidates, args.embedder)
    view = reranked_view(result, workspace.rerank(result, args.reranker), args.top_k) if args.rerank else None
    if args.json:
        print(json.dumps(result_dict(result, view), indent=2, ensure_ascii=False))
    else:
        _print_result(result, view)
    return EXIT_OK


def _replay_trace(workspace: Workspace, args: argparse.Namespace) -> int:
    """``query --trace NAME:TRACE_ID``: the logged candidates as the first stage, reranked with --rerank."""
    name, separator, trace_id = args.trace.partition(":")
    if not separator or not name or not trace_id:
        raise InvalidInputError(f"--trace takes NAME:TRACE_ID (e.g. --trace prod-log:t-17), got '{args.trace}'.")
    if args.text is not None or args.collection:
        raise InvalidInputError(
            "--trace replays the logged query and candidates: drop the query text and --collection."
        )
    trace = workspace.traces.get(name, trace_id)
    result = workspace.trace_search(name, trace_id)
    view = reranked_view(result, workspace.rerank_trace(result, args.reranker), args.top_k) if args.rerank else None
    if args.json:
        data = result_dict(result, view)
        data["trace"] = {"trace_set": name, "trace_id": trace.trace_id, "answer": trace.answer}
        for candidate, logged in zip(data["candidates"], trace.candidates, strict=True):
            candidate["logged_id"] = logged.id
            candidate["score"] = logged.score
            if logged.text is None:
                candidate["note"] = NO_TEXT
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_result(result, view)
        if trace.answer:
            print(f"logged answer: {trace.answer}")
    return EXIT_OK


def result_dict(result: SearchResult, view: ExploreView | None = None) -> dict[str, Any]:
    """The ``--json`` shape of a search, candidates in first-stage order. With a reranked ``view``,
    each candidate gains ``rerank_rank``, ``rerank_score`` (raw), ``rerank_probability`` (0-1),
    ``shift``, ``status`` and ``tokens_seen``, and ``timings_ms`` gains ``rerank`` (the total) and its
    parts ``rerank_tokenize``, ``rerank_model`` and ``rerank_post``."""
    rows = {row.chunk.chunk_id: row for row in view.rows} if view else {}
    candidates = []
    for hit in result.hits:
        candidate: dict[str, Any] = {
            "chunk_id": hit.chunk.chunk_id,
            "doc_id": hit.chunk.doc_id,
            "text": hit.chunk.text,
            "source": hit.chunk.source,
            "heading": hit.chunk.heading,
            "rank": hit.rank,
            "score": round(hit.score, 6),
        }
        row = rows.get(hit.chunk.chunk_id)
        if row is not None:
            candidate.update(
                rerank_rank=row.right_rank,
                rerank_score=None if row.right_score is None else round(row.right_score, 6),
                rerank_probability=None if row.probability is None else round(row.probability, 6),
                shift=row.shift,
                status=row.status,
                tokens_seen=row.tokens_seen,
                tokens_total=row.tokens_total,
            )
        candidates.append(candidate)
    timings = view.timings_ms if view else result.timings_ms
    data: dict[str, Any] = {"query": result.query, "collection": result.collection, "mode": result.mode}
    if view is not None and view.rerank is not None:
        data["reranker"] = {"name": view.rerank.reranker, "score_kind": view.rerank.score_kind, "top_k": view.k}
        data["warnings"] = list(view.alarms)
    data["candidates"] = candidates
    data["timings_ms"] = {stage: round(ms, 2) for stage, ms in timings.items()}
    return data


def _print_result(result: SearchResult, view: ExploreView | None) -> None:
    print(f"{result.mode} search in '{result.collection}' for: {result.query}")
    if view is None:
        print(f"{'rank':>4}  {'score':>8}  {'doc_id':<28} text")
        for hit in result.hits:
            print(f"{hit.rank:>4}  {hit.score:>8.4f}  {hit.chunk.doc_id[:28]:<28} {_preview(hit.chunk.text)}")
        timings = result.timings_ms
    else:
        for alarm in view.alarms:
            print(f"warning: {alarm}", file=sys.stderr)
        print(f"{'rerank':>6} {result.mode[:6]:>6} {'shift':>5}  {'score':>8}  {'status':<16} {'doc_id':<28} text")
        for row in view.right_rows():
            status = row.status.replace("_top_k", f" top-{view.k}").replace("_", " ") if row.status != "outside" else ""
            shift = "" if row.shift is None else f"{row.shift:+d}"
            print(
                f"{row.right_rank:>6} {row.left_rank:>6} {shift:>5}  {row.right_score or 0:>8.4f}  {status:<16} "
                f"{row.chunk.doc_id[:28]:<28} {_preview(row.chunk.text)}"
            )
        timings = view.timings_ms
    summary = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in timings.items())
    print(f"{len(result.hits)} candidates; {summary}")


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1] + "…"
