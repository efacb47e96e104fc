"""``reranklens query``: one search, optionally reranked, as a table or ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_ERROR, EXIT_OK, ensure_demo
from reranklens.errors import InvalidInputError, RerankLensError
from reranklens.retrieve.search import MAX_CANDIDATES, MIN_CANDIDATES
from reranklens.types import NO_TEXT, SEARCH_MODES, SearchResult
from reranklens.views.explore import ExploreView, check_top_k, reranked_view
from reranklens.views.judged import JudgedView
from reranklens.views.shootout import MAX_RERANKERS, RerankerOutcome, Shootout, check_rerankers

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

TEXT_PREVIEW = 70


def add_query_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``query`` on the top-level subparsers."""
    query = commands.add_parser("query", help="search a collection")
    query.add_argument("text", nargs="?", help="the query (not with --trace: the logged one is used)")
    query.add_argument(
        "--collection",
        "-c",
        help="the collection to search, or a connection (see: reranklens connections); not with --trace",
    )
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
        "--reranker",
        action="append",
        help="cross-encoder name or directory, http:MODEL or openai:MODEL (default $RERANKLENS_RERANKER); "
        f'repeat to compare up to {MAX_RERANKERS}: each candidate then carries "reranks" per reranker',
    )
    query.add_argument("--top-k", "-k", type=int, default=3, help="top-k for entered/left status (1-10, default 3)")
    query.add_argument(
        "--golden",
        metavar="SET",
        help="with --rerank: mark each candidate's grade in golden set SET and add this query's nDCG@10, R@3, "
        "RR@10 and Hit@3 before and after (computed as `reranklens eval` does)",
    )
    query.add_argument("--json", action="store_true", help="print one JSON object")
    query.set_defaults(handler=cmd_query)


def cmd_query(workspace: Workspace, args: argparse.Namespace) -> int:
    check_top_k(args.top_k)
    names = check_rerankers(args.reranker or [])
    if args.golden is not None:
        if not args.rerank or len(names) > 1:
            raise InvalidInputError("--golden compares one ranking before and after: add --rerank (one reranker).")
        workspace.golden.info(args.golden)  # an unknown set: one line, before any work
    if args.trace:
        if len(names) > 1:
            raise InvalidInputError("--trace replays with one reranker: give --reranker once.")
        return _replay_trace(workspace, args, names[0] if names else None)
    if args.text is None or not args.collection:  # an empty query is check_query's to refuse
        raise InvalidInputError(
            "query needs the query text and --collection (or --trace NAME:TRACE_ID to replay a logged retrieval)."
        )
    if workspace.is_connection(args.collection):
        if len(names) > 1:
            raise InvalidInputError("A live retriever is reranked with one reranker: give --reranker once.")
        return _query_live(workspace, args, names[0] if names else None)
    ensure_demo(workspace, args.collection)
    result = workspace.search(args.text, args.collection, args.mode, args.candidates, args.embedder)
    if args.rerank and len(names) > 1:
        return _query_several(workspace, args, result, names)
    reranker = names[0] if names else None
    view, no_reranker = None, None
    if args.rerank:
        # As the pages and `answer` do: without a cross-encoder, compare two first-stage rankings instead.
        view, no_reranker = workspace.second_stage(result, args.candidates, args.top_k, reranker)
        if no_reranker:
            print(
                f"warning: no cross-encoder available, compared {view.left_title} with {view.right_title} "
                f"instead. {no_reranker}",
                file=sys.stderr,
            )
    judged = _judged(workspace, view, args.golden) if args.golden and view is not None else None
    if args.json:
        data = result_dict(result, view, judged)
        if view is not None:
            data["compared"] = {"before": view.left_title, "after": view.right_title, "after_kind": view.right_kind}
            data["fallback_reason"] = no_reranker
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_result(result, view, judged)
    return EXIT_OK


def _query_several(workspace: Workspace, args: argparse.Namespace, result: SearchResult, names: list[str]) -> int:
    """Several rerankers: one that fails gets an ``error:`` line on stderr (exit 1), the others are printed."""
    shoot = workspace.shootout(result, names, args.top_k)
    if not shoot.succeeded:
        raise RerankLensError(" ".join(f"{o.name}: {o.error}" for o in shoot.outcomes))
    if args.json:
        print(json.dumps(shootout_dict(shoot), indent=2, ensure_ascii=False))
    else:
        _print_shootout(shoot)
    for outcome in shoot.failed:
        print(f"error: reranker {outcome.name}: {outcome.error}", file=sys.stderr)
    return EXIT_ERROR if shoot.failed else EXIT_OK


def shootout_dict(shoot: Shootout) -> dict[str, Any]:
    """The ``--json`` shape with several rerankers: ``result_dict`` of the first one that ran (so every
    existing field keeps its meaning), each candidate gaining ``reranks``: ``{NAME: {rank, score,
    probability, shift, status}}`` for every reranker that ran; ``rerankers`` lists each one's latency,
    cost, repairs and warnings, or its ``error``; ``agreement`` has top-k overlap and Kendall's tau per pair."""
    first = shoot.succeeded[0].view
    data = result_dict(shoot.search, first)
    per_chunk: dict[str, dict[str, Any]] = {hit.chunk.chunk_id: {} for hit in shoot.search.hits}
    for outcome in shoot.succeeded:
        if outcome.view is None:
            continue
        for row in outcome.view.rows:
            if row.chunk.chunk_id in per_chunk and row.right_rank is not None:
                per_chunk[row.chunk.chunk_id][outcome.name] = {
                    "rank": row.right_rank,
                    "score": None if row.right_score is None else round(row.right_score, 6),
                    "probability": None if row.probability is None else round(row.probability, 6),
                    "shift": row.shift,
                    "status": row.status,
                }
    for candidate in data["candidates"]:
        candidate["reranks"] = per_chunk[candidate["chunk_id"]]
    data["rerankers"] = [_outcome_dict(outcome) for outcome in shoot.outcomes]
    data["agreement"] = [
        {
            "first": pair.first,
            "second": pair.second,
            "top_k_overlap": round(pair.overlap, 6),
            "kendall_tau": None if pair.tau is None else round(pair.tau, 6),
        }
        for pair in shoot.agreements()
    ]
    return data


def _outcome_dict(outcome: RerankerOutcome) -> dict[str, Any]:
    rerank = outcome.rerank
    if rerank is None:
        return {"name": outcome.name, "error": outcome.error}
    cost = rerank.cost
    return {
        "name": outcome.name,
        "model": rerank.reranker,
        "score_kind": rerank.score_kind,
        "latency_ms": round(outcome.latency_ms or 0.0, 2),
        "cost": None
        if cost is None
        else {
            "calls": cost.calls,
            "prompt_tokens": cost.prompt_tokens,
            "completion_tokens": cost.completion_tokens,
            "usd": cost.usd,
        },
        "repairs": list(rerank.repairs),
        "warnings": list(outcome.view.alarms) if outcome.view else [],
    }


def _replay_trace(workspace: Workspace, args: argparse.Namespace, reranker: str | None) -> int:
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
    view = reranked_view(result, workspace.rerank_trace(result, reranker), args.top_k) if args.rerank else None
    judged = _judged(workspace, view, args.golden, trace_id) if args.golden and view is not None else None
    if args.json:
        data = result_dict(result, view, judged)
        data["trace"] = {"trace_set": name, "trace_id": trace.trace_id, "answer": trace.answer}
        for candidate, logged in zip(data["candidates"], trace.candidates, strict=True):
            candidate["logged_id"] = logged.id
            candidate["score"] = logged.score
            if logged.text is None:
                candidate["note"] = NO_TEXT
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_result(result, view, judged)
        if trace.answer:
            print(f"logged answer: {trace.answer}")
    return EXIT_OK


def _query_live(workspace: Workspace, args: argparse.Namespace, reranker: str | None) -> int:
    """``query TEXT -c CONNECTION``: the live retriever's candidates as the first stage, reranked with --rerank.
    Contract problems (kept candidates) go to stderr as ``warning:`` lines; a retriever that cannot answer
    is one ``error:`` line."""
    if args.mode != "vector" or args.embedder:
        raise InvalidInputError(
            f"'{args.collection}' is a live retriever: it searches its own way, so --mode and --embedder do not apply."
        )
    answer = workspace.live_search(args.collection, args.text, args.candidates)
    result = answer.search
    for problem in answer.problems:
        print(f"warning: {problem}", file=sys.stderr)
    view = reranked_view(result, workspace.rerank_trace(result, reranker), args.top_k) if args.rerank else None
    if args.json:
        data = result_dict(result, view)
        data["connection"] = args.collection
        data["problems"] = list(answer.problems)
        for candidate, returned in zip(data["candidates"], answer.candidates, strict=True):
            candidate["id"] = returned.id
            candidate["score"] = returned.score
            candidate["metadata"] = returned.metadata
            if returned.text is None:
                candidate["note"] = NO_TEXT
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_result(result, view)
    return EXIT_OK


def _judged(workspace: Workspace, view: ExploreView, golden_set: str, trace_id: str | None = None) -> JudgedView:
    """``view`` read against ``golden_set`` (imported here: the golden store and its SQL layer cost a plain
    query about 0.3 s of imports)."""
    from reranklens.evaluate.judged import judged_view

    return judged_view(view, workspace.golden, golden_set, trace_id)


def result_dict(
    result: SearchResult, view: ExploreView | None = None, judged: JudgedView | None = None
) -> dict[str, Any]:
    """The ``--json`` shape of a search, candidates in first-stage order. With a reranked ``view``,
    each candidate gains ``rerank_rank``, ``rerank_score`` (raw), ``rerank_probability`` (0-1),
    ``shift``, ``status`` and ``tokens_seen``, and ``timings_ms`` gains ``rerank`` (the total) and its
    parts ``rerank_tokenize``, ``rerank_model`` and ``rerank_post``. With ``judged`` (``--golden``),
    each candidate gains ``grade`` (null: unjudged) and ``grade_level`` (``chunk``/``doc``), and the
    object gains ``golden`` (set, query id or null, the best-graded line) and ``metrics``:
    ``{"before": {"nDCG@10": …, "R@3": …, "RR@10": …, "Hit@3": …}, "after": {…}}`` (null: no relevant label)."""
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
        if judged is not None:
            grade = judged.grade_of(hit.chunk.chunk_id)
            candidate.update(grade=grade.grade if grade else None, grade_level=grade.level if grade else None)
        candidates.append(candidate)
    timings = view.timings_ms if view else result.timings_ms
    data: dict[str, Any] = {"query": result.query, "collection": result.collection, "mode": result.mode}
    if view is not None and view.rerank is not None:
        data["reranker"] = {"name": view.rerank.reranker, "score_kind": view.rerank.score_kind, "top_k": view.k}
        data["warnings"] = list(view.alarms)
    data["candidates"] = candidates
    data["timings_ms"] = {stage: round(ms, 2) for stage, ms in timings.items()}
    if judged is not None:
        data["golden"] = {
            "set": judged.golden_set,
            "query_id": judged.query.query_id if judged.query else None,
            "best_graded": judged.best.line() if judged.best else None,
            "metrics_level": judged.metrics_level,
        }
        data["metrics"] = judged.metrics
    return data


def _print_result(result: SearchResult, view: ExploreView | None, judged: JudgedView | None = None) -> None:
    print(f"{result.mode} search in '{result.collection}' for: {result.query}")
    if view is None:
        print(f"{'rank':>4}  {'score':>8}  {'doc_id':<28} text")
        for hit in result.hits:
            print(f"{hit.rank:>4}  {hit.score:>8.4f}  {_cut(hit.chunk.doc_id, 28):<28} {_preview(hit.chunk.text)}")
        timings = result.timings_ms
    else:
        for alarm in view.alarms:
            print(f"warning: {alarm}", file=sys.stderr)
        print(f"compared: {view.left_title} (before) -> {view.right_title} (after)")
        _print_judged(judged)
        grade_head = f" {'grade':<9}" if judged else ""
        print(f"{'after':>6} {'before':>6} {'shift':>5}  {'score':>8}  {'status':<16}{grade_head} {'doc_id':<28} text")
        for row in view.right_rows():
            status = row.status.replace("_top_k", f" top-{view.k}").replace("_", " ") if row.status != "outside" else ""
            shift = "" if row.shift is None else f"{row.shift:+d}"
            grade = (
                f" {judged.badge(row.chunk.chunk_id).replace('grade ', '').replace(' · ', ' '):<9}" if judged else ""
            )
            print(
                f"{row.right_rank:>6} {row.left_rank:>6} {shift:>5}  {row.right_score or 0:>8.4f}  {status:<16}{grade} "
                f"{_cut(row.chunk.doc_id, 28):<28} {_preview(row.chunk.text)}"
            )
        timings = view.timings_ms
    summary = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in timings.items())
    print(f"{len(result.hits)} candidates; {summary}")


def _print_judged(judged: JudgedView | None) -> None:
    """The golden set's verdict above the table: the best-graded chunk and the four figures."""
    if judged is None:
        return
    if not judged.judged:
        print(judged.not_judged_line())
        return
    print(judged.best.line() if judged.best else f"no relevant label for this query in {judged.golden_set}")
    if judged.metrics is not None:
        before, after = judged.metrics["before"], judged.metrics["after"]
        print(
            f"{judged.metrics_level}-level: "
            + ", ".join(
                f"{name} {before[name]:.3f} -> {after[name]:.3f} ({after[name] - before[name]:+.3f})" for name in before
            )
        )


def _print_shootout(shoot: Shootout) -> None:
    search = shoot.search
    print(f"{search.mode} search in '{search.collection}' for: {search.query}")
    for outcome in shoot.succeeded:
        for alarm in outcome.view.alarms if outcome.view else ():
            print(f"warning: {outcome.name}: {alarm}", file=sys.stderr)
        for repair in outcome.rerank.repairs if outcome.rerank else ():
            print(f"note: {outcome.name} repaired its answer: {repair}", file=sys.stderr)
    names = [o.name for o in shoot.succeeded]
    for i, name in enumerate(names, start=1):
        print(f"  R{i} = {name}")
    print(
        f"{search.mode:>6} "
        + " ".join(f"{'R' + str(i):>4}" for i in range(1, len(names) + 1))
        + f"  {'doc_id':<28} text"
    )
    for row in shoot.rank_rows():
        ranks = " ".join(f"{row.ranks[name]:>4}" for name in names)
        print(f"{row.first_stage_rank:>6} {ranks}  {row.chunk.doc_id[:28]:<28} {_preview(row.chunk.text)}")
    for pair in shoot.agreements():
        tau = "n/a" if pair.tau is None else f"{pair.tau:+.3f}"
        print(f"{pair.first} vs {pair.second}: top-{shoot.k} overlap {pair.overlap:.0%}, Kendall's tau {tau}")
    for outcome in shoot.succeeded:
        cost = outcome.rerank.cost if outcome.rerank else None
        spent = (
            ""
            if cost is None
            else f", {cost.calls} calls, " + ("cost unknown" if cost.usd is None else f"${cost.usd:.6f}")
        )
        print(f"{outcome.name}: {outcome.latency_ms or 0.0:.1f} ms{spent}")


def _preview(text: str) -> str:
    return _cut(" ".join(text.split()), TEXT_PREVIEW)


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, an ellipsis marking where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"
