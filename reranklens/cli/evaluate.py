"""``reranklens eval``: score retrieval pipelines on a golden set, gate CI on the scores, and compare
with a saved run.

Every user error (an unknown pipeline or metric, a malformed ``--fail-under``, a baseline run of
another collection) is raised as ``InvalidInputError`` *before* any search runs, so a typo costs
milliseconds, not an evaluation. A failed gate is not an error: the evaluation is printed (and
saved with ``--save``), the failed gates follow as ``FAIL:`` / ``REGRESSION:`` lines, and the
exit code is 1. With ``--json`` stdout stays one JSON object and those lines go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from reranklens.cli.common import EXIT_OK, count, ensure_demo
from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import (
    FIRST_STAGE_RECALL,
    LIVE_PIPELINES,
    MEASURES,
    PIPELINES,
    TRACE_PIPELINES,
    UNJUDGED,
    EvalConfig,
    EvalResult,
    evaluate,
    is_live_pipeline,
    is_pipeline,
    is_reranked,
    is_trace_pipeline,
    split_pipeline,
)
from reranklens.evaluate.report import report_data, report_format, write_report
from reranklens.evaluate.runs import RunStore, SavedRun
from reranklens.evaluate.significance import PairedComparison, compare_pipelines
from reranklens.retrieve.search import MAX_CANDIDATES, MIN_CANDIDATES

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

EXIT_FAILED = 1  # a failed gate: the evaluation ran, its scores fell short
TABLE_METRICS = (*MEASURES, UNJUDGED, FIRST_STAGE_RECALL)
# Unjudged@10 is not a quality score (lower is better), so no --fail-under for it.
GATE_METRICS = (*MEASURES, FIRST_STAGE_RECALL)
REGRESSION_METRIC = "nDCG@10"
# Means of the same per-query values summed in another order differ by ~1e-16: not a regression.
TOLERANCE = 1e-9
MAX_NOTES = 10


@dataclass(frozen=True)
class Threshold:
    """One ``--fail-under``: ``metric`` of ``pipeline`` (every pipeline when None) >= ``value``."""

    spec: str
    pipeline: str | None
    metric: str
    value: float


@dataclass(frozen=True)
class GateOutcome:
    """A checked gate. ``detail`` is the line printed after ``FAIL:`` / ``REGRESSION:``; ``queries``
    lists the regressed queries, worst first (regression gates only)."""

    gate: str
    passed: bool
    detail: str
    kind: Literal["FAIL", "REGRESSION"] = "FAIL"
    queries: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"gate": self.gate, "passed": self.passed, "detail": self.detail}
        if self.kind == "REGRESSION":
            data["queries"] = list(self.queries)
        return data


def add_eval_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``eval`` on the top-level subparsers."""
    parser = commands.add_parser(
        "eval",
        help="score pipelines on a golden set (metrics, significance, latency), gate CI, compare runs",
        description=(
            "Score retrieval pipelines on a golden set. Exit 1 when a --fail-under or --fail-on-regression gate fails."
        ),
    )
    parser.add_argument(
        "--collection",
        "-c",
        help="the collection to search, or a connected live retriever (pipelines live, live+rerank, "
        "live+rerank:NAME); required unless --list-runs/--traces",
    )
    parser.add_argument(
        "--traces",
        metavar="NAME",
        help="score trace set NAME's logged rankings instead of searching: pipelines logged and logged+rerank",
    )
    parser.add_argument("--golden", "-g", help="the golden set to score against (required unless --list-runs)")
    parser.add_argument(
        "--pipelines",
        default=None,
        help=f"comma-separated, from {', '.join(PIPELINES)}, or vector+rerank:NAME / hybrid+rerank:NAME for "
        "any reranker NAME (registry model, directory, http:MODEL, openai:MODEL), as many as you like "
        "(default: the five plain ones; a reranked one is skipped when its model does not load); "
        f"with --traces from {', '.join(TRACE_PIPELINES)}, or logged+rerank:NAME",
    )
    parser.add_argument(
        "--candidates", "-n", type=int, default=50, help=f"first-stage candidates, {MIN_CANDIDATES}-{MAX_CANDIDATES}"
    )
    parser.add_argument(
        "--reranker", help="cross-encoder name or directory, or http:MODEL (default $RERANKLENS_RERANKER)"
    )
    parser.add_argument(
        "--level",
        choices=("auto", "doc", "chunk"),
        default="auto",
        help="score chunks or documents (default auto: chunk when the set has chunk-level labels)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--save", nargs="?", const="", default=None, metavar="LABEL", help="save the run (with an optional label)"
    )
    parser.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="[PIPELINE:]METRIC=VALUE",
        help="exit 1 when a mean is below VALUE, e.g. nDCG@10=0.3 (every pipeline) or "
        "vector+rerank:nDCG@10=0.3; repeatable",
    )
    parser.add_argument(
        "--fail-on-regression",
        type=int,
        metavar="RUN_ID",
        help=f"exit 1 when a pipeline's mean {REGRESSION_METRIC} is below that of saved run RUN_ID",
    )
    parser.add_argument(
        "--report",
        metavar="PATH",
        help="also write a self-contained report (.html or .md by extension) for the people who decide",
    )
    parser.add_argument(
        "--list-runs", action="store_true", help="list saved runs (of --collection/--golden if given) and exit"
    )
    parser.set_defaults(handler=cmd_eval)


def cmd_eval(workspace: Workspace, args: argparse.Namespace) -> int:
    runs = RunStore(workspace.settings.runs_db_path)
    if args.list_runs:
        return _list_runs(runs.list(args.collection, args.golden), args.json)
    if args.traces and args.collection:
        raise InvalidInputError("Give --collection or --traces, not both: --traces scores the logged rankings.")
    if not (args.collection or args.traces) or not args.golden:
        raise InvalidInputError(
            "eval needs --collection and --golden (e.g. reranklens eval --collection demo --golden demo)."
        )
    live = not args.traces and workspace.is_connection(args.collection)
    default_pipelines = TRACE_PIPELINES if args.traces else LIVE_PIPELINES if live else PIPELINES
    config = EvalConfig(
        collection=args.traces or args.collection,
        golden_set=args.golden,
        pipelines=parse_pipelines(args.pipelines or ",".join(default_pipelines)),
        candidates=args.candidates,
        reranker=args.reranker,
        level=args.level,
        traces=bool(args.traces),
        live=live,
    )
    thresholds = [parse_threshold(spec, config.pipelines) for spec in args.fail_under]
    if args.report:
        report_format(args.report)  # a wrong extension: one line before any work
    baseline = runs.get(args.fail_on_regression) if args.fail_on_regression is not None else None
    if baseline is not None:
        check_baseline(baseline, config)

    if not config.traces and not config.live:
        ensure_demo(workspace, config.collection)
    with _QueryProgress() as bar:
        result = evaluate(workspace, config, bar.update)
    used = dict.fromkeys(p.reranker for p in result.pipelines.values() if p.reranker is not None)
    for name in used:
        for warning in workspace.reranker(name).warnings():
            print(f"warning: {warning}", file=sys.stderr)
    _print_notes(result.skipped)

    comparisons = [compare_pipelines(result, baseline_name, candidate) for candidate, baseline_name in pairs(result)]
    gates = check_thresholds(result, thresholds)
    if baseline is not None:
        gates += check_regression(result, baseline)
        _print_notes(
            tuple(
                f"run #{baseline.run_id} has pipeline {name}, skipped now: not compared"
                for name in baseline.result.get("per_query", {})
                if name in config.pipelines and name not in result.pipelines
            )
        )
    run_id = runs.save(result.to_json(), args.save) if args.save is not None else None
    if args.report:
        text = write_report(report_data(result, workspace.golden.qrels(config.golden_set, result.level)), args.report)
        try:
            Path(args.report).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"Cannot write the report to {args.report}: {exc.strerror}.") from exc
        print(f"Report written to {args.report}", file=sys.stderr)

    if args.json:
        data = result.to_json()
        data["comparisons"] = [comparison_json(c) for c in comparisons]
        data["gates"] = [gate.to_json() for gate in gates]
        if run_id is not None:
            data["run_id"] = run_id
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_result(result, comparisons)
        if run_id is not None:
            label = f" '{args.save}'" if args.save else ""
            print(f"Saved run #{run_id}{label}: compare later runs with --fail-on-regression {run_id}")
    failed = [gate for gate in gates if not gate.passed]
    out = sys.stderr if args.json else sys.stdout
    for gate in failed:
        print(f"{gate.kind}: {gate.detail}", file=out)
        for query in gate.queries:
            print(
                f"  {query['query_id']}: {query['baseline']:.4f} -> {query['candidate']:.4f}  {_flat(query['query'])}",
                file=out,
            )
    return EXIT_FAILED if failed else EXIT_OK


# -- parsing ---------------------------------------------------------------------------------------


def parse_pipelines(text: str) -> tuple[str, ...]:
    """``"vector, bm25,vector"`` -> ``("vector", "bm25")``; names are checked by ``EvalConfig``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return tuple(dict.fromkeys(names))


def parse_threshold(spec: str, pipelines: tuple[str, ...]) -> Threshold:
    """``nDCG@10=0.3`` (every pipeline) or ``vector+rerank:nDCG@10=0.3`` (one pipeline).

    Metric names are matched case-insensitively (``ndcg@10`` is ``nDCG@10``); the pipeline must be
    one of ``pipelines``, the ones being evaluated; the value must lie in [0, 1].
    """
    target, equals, raw = spec.partition("=")
    pipeline, colon, metric_name = target.rpartition(":")
    metric_name, raw = metric_name.strip(), raw.strip()
    if not equals or not metric_name or not raw or (colon and not pipeline.strip()):
        raise InvalidInputError(
            f"Malformed --fail-under '{spec}': write METRIC=VALUE or PIPELINE:METRIC=VALUE, "
            "e.g. nDCG@10=0.3 or vector+rerank:nDCG@10=0.3."
        )
    metrics = {name.lower(): name for name in GATE_METRICS}
    metric = metrics.get(metric_name.lower())
    if metric is None:
        raise InvalidInputError(
            f"Unknown metric '{metric_name}' in --fail-under '{spec}': choose from {', '.join(GATE_METRICS)}."
        )
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise InvalidInputError(f"--fail-under '{spec}': the threshold must be a number from 0 to 1, got '{raw}'.")
    name = pipeline.strip() or None
    if name is not None and not (is_pipeline(name) or is_trace_pipeline(name) or is_live_pipeline(name)):
        raise InvalidInputError(
            f"Unknown pipeline '{name}' in --fail-under '{spec}': choose from {', '.join(PIPELINES)}."
        )
    if name is not None and name not in pipelines:
        raise InvalidInputError(
            f"--fail-under '{spec}' names pipeline '{name}', which is not being evaluated: "
            f"add it to --pipelines (now {','.join(pipelines)})."
        )
    return Threshold(spec=spec, pipeline=name, metric=metric, value=value)


def check_baseline(baseline: SavedRun, config: EvalConfig) -> None:
    """Refuse a baseline that cannot be compared with ``config`` (another collection, golden set
    or scoring level, or no pipeline in common)."""
    if (baseline.collection, baseline.golden_set) != (config.collection, config.golden_set):
        raise InvalidInputError(
            f"Run #{baseline.run_id} evaluated collection '{baseline.collection}' on golden set "
            f"'{baseline.golden_set}', not '{config.collection}' on '{config.golden_set}': pick a run of the "
            "same pair (reranklens eval --list-runs)."
        )
    level = baseline.result.get("level")
    if config.level != "auto" and level != config.level:
        raise InvalidInputError(
            f"Run #{baseline.run_id} was scored at {level} level, not {config.level}: pass --level {level}."
        )
    saved = list(baseline.result.get("per_query", {}))
    if not set(saved) & set(config.pipelines):
        raise InvalidInputError(
            f"Run #{baseline.run_id} has pipelines {', '.join(saved) or '(none)'}, none of which is being "
            f"evaluated: add one to --pipelines (now {','.join(config.pipelines)})."
        )


# -- gates ---------------------------------------------------------------------------------------


def check_thresholds(result: EvalResult, thresholds: list[Threshold]) -> list[GateOutcome]:
    """One outcome per (threshold, pipeline). A pipeline named by a gate but skipped by the
    evaluation (no cross-encoder) fails its gate: a gate that cannot be checked must not pass."""
    outcomes = []
    for threshold in thresholds:
        names = [threshold.pipeline] if threshold.pipeline else list(result.pipelines)
        for name in names:
            gate = f"{name} {threshold.metric} >= {threshold.value:g}"
            if name not in result.pipelines:
                detail = f"{name} {threshold.metric} not evaluated (pipeline skipped), needs >= {threshold.value:.4f}"
                outcomes.append(GateOutcome(gate, False, detail))
                continue
            value = result.pipelines[name].mean[threshold.metric]
            passed = value >= threshold.value - TOLERANCE
            relation = ">=" if passed else "<"
            detail = f"{name} {threshold.metric} {value:.4f} {relation} {threshold.value:.4f}"
            outcomes.append(GateOutcome(gate, passed, detail))
    return outcomes


def check_regression(result: EvalResult, baseline: SavedRun, metric: str = REGRESSION_METRIC) -> list[GateOutcome]:
    """For every pipeline in both runs: fail when the mean ``metric`` over the queries both runs
    scored dropped by more than ``TOLERANCE``; list each query that got worse, worst first."""
    if result.level != baseline.result.get("level"):
        raise InvalidInputError(
            f"Run #{baseline.run_id} was scored at {baseline.result.get('level')} level, this run at "
            f"{result.level} level: pass --level {baseline.result.get('level')} to compare them."
        )
    saved: dict[str, dict[str, dict[str, float]]] = baseline.result.get("per_query", {})
    outcomes = []
    for name, pipeline in result.pipelines.items():
        if name not in saved:
            continue
        before_by_query, after_by_query = saved[name], pipeline.per_query
        common = [qid for qid in after_by_query if qid in before_by_query]
        gate = f"{name} {metric} not below run #{baseline.run_id}"
        if not common:
            detail = f"{name} {metric}: no query in common with run #{baseline.run_id}"
            outcomes.append(GateOutcome(gate, False, detail, "REGRESSION"))
            continue
        before = float(np.mean([before_by_query[q][metric] for q in common]))
        after = float(np.mean([after_by_query[q][metric] for q in common]))
        passed = after >= before - TOLERANCE
        worse = sorted(
            (q for q in common if after_by_query[q][metric] < before_by_query[q][metric] - TOLERANCE),
            key=lambda q: (after_by_query[q][metric] - before_by_query[q][metric], q),
        )
        queries = tuple(
            {
                "query_id": q,
                "query": result.queries.get(q, ""),
                "baseline": before_by_query[q][metric],
                "candidate": after_by_query[q][metric],
            }
            for q in worse
        )
        detail = f"{name} {metric} {before:.4f} -> {after:.4f}"
        outcomes.append(GateOutcome(gate, passed, detail, "REGRESSION", () if passed else queries))
    return outcomes


# -- output --------------------------------------------------------------------------------------


def pairs(result: EvalResult) -> list[tuple[str, str]]:
    """(candidate, baseline) pairs to test: each reranked pipeline against the first stage it reorders,
    then every two reranked pipelines on the same first stage (the reranker shoot-out)."""
    names = list(result.pipelines)
    found = [(p, split_pipeline(p)[0]) for p in names if is_reranked(p) and split_pipeline(p)[0] in names]
    reranked = [p for p in names if is_reranked(p)]
    for i, baseline in enumerate(reranked):
        found += [
            (candidate, baseline)
            for candidate in reranked[i + 1 :]
            if split_pipeline(candidate)[0] == split_pipeline(baseline)[0]
        ]
    return found


def cost_text(cost: dict[str, float | None] | None) -> str:
    """``"$0.0123 per 1,000 queries (42 calls, 9,876 tokens)"``; empty for local models."""
    if cost is None:
        return ""
    per_1k = cost.get("usd_per_1k_queries")
    dollars = "cost unknown" if per_1k is None else f"${per_1k:.4f} per 1,000 queries"
    tokens = int((cost.get("prompt_tokens") or 0) + (cost.get("completion_tokens") or 0))
    return f"{dollars} ({int(cost.get('calls') or 0)} calls, {tokens:,} tokens)"


def comparison_json(comparison: PairedComparison) -> dict[str, Any]:
    return {
        "baseline": comparison.baseline,
        "candidate": comparison.candidate,
        "metric": comparison.metric,
        "mean_delta": comparison.mean_delta,
        "p_value": comparison.p_value,
        "ci_low": comparison.ci_low,
        "ci_high": comparison.ci_high,
        "wins": comparison.wins,
        "losses": comparison.losses,
        "ties": comparison.ties,
        "deltas": [
            {
                "query_id": d.query_id,
                "baseline": d.baseline,
                "candidate": d.candidate,
                "delta": d.delta,
                "outcome": d.outcome,
            }
            for d in comparison.deltas
        ],
    }


def comparison_line(comparison: PairedComparison) -> str:
    """``vector+rerank vs vector on nDCG@10: mean Δ +0.031 (95% CI [-0.004, +0.066], p=0.040),
    12 wins / 5 losses / 20 ties``."""
    if comparison.p_value is None or comparison.ci_low is None or comparison.ci_high is None:
        stats = "no CI or p-value: needs 2+ queries"
    else:
        p = "p<0.001" if comparison.p_value < 0.001 else f"p={comparison.p_value:.3f}"
        stats = f"95% CI [{comparison.ci_low:+.3f}, {comparison.ci_high:+.3f}], {p}"
    return (
        f"{comparison.candidate} vs {comparison.baseline} on {comparison.metric}: mean Δ {comparison.mean_delta:+.3f} "
        f"({stats}), {comparison.wins} wins / {comparison.losses} losses / {comparison.ties} ties"
    )


def _print_result(result: EvalResult, comparisons: list[PairedComparison]) -> None:
    widths = [max(len(metric), 6) for metric in TABLE_METRICS]
    name_width = max(len("pipeline"), *(len(name) for name in result.pipelines))
    print(f"{'pipeline':<{name_width}}  " + "  ".join(f"{m:>{w}}" for m, w in zip(TABLE_METRICS, widths, strict=True)))
    for name, pipeline in result.pipelines.items():
        values = "  ".join(f"{pipeline.mean[m]:>{w}.4f}" for m, w in zip(TABLE_METRICS, widths, strict=True))
        print(f"{name:<{name_width}}  {values}")
    if comparisons:
        print()
    for comparison in comparisons:
        print(comparison_line(comparison))
    print()
    for name, pipeline in result.pipelines.items():
        total = pipeline.latency_ms.get("total", {})
        cost = cost_text(pipeline.cost)
        print(
            f"latency {name:<{name_width}}  p50 {total.get('p50', 0.0):8.1f} ms  p95 {total.get('p95', 0.0):8.1f} ms"
            + (f"  {cost}" if cost else "")
        )
    reranker = f", reranker {result.reranker}" if result.reranker else ""
    candidates: str | int = result.config.candidates
    if result.config.traces:
        candidates = f"trace set '{result.config.collection}': logged"
    elif result.config.live:
        candidates = f"live retriever '{result.config.collection}': {result.config.candidates}"
    print(
        f"{result.level} level, {count(len(result.queries), 'query')}, {candidates} candidates{reranker}; "
        f"wall time {result.wall_s:.1f} s"
    )


def _print_notes(lines: tuple[str, ...]) -> None:
    for line in lines[:MAX_NOTES]:
        print(f"note: {line}", file=sys.stderr)
    if len(lines) > MAX_NOTES:
        print(f"note: ... and {len(lines) - MAX_NOTES} more (see --json 'skipped')", file=sys.stderr)


def _list_runs(saved: list[SavedRun], as_json: bool) -> int:
    if as_json:
        rows = [
            {
                "run_id": run.run_id,
                "created_at": run.created_at,
                "label": run.label,
                "collection": run.collection,
                "golden_set": run.golden_set,
                "level": run.result.get("level"),
                REGRESSION_METRIC: {
                    name: means.get(REGRESSION_METRIC) for name, means in run.result.get("pipelines", {}).items()
                },
            }
            for run in saved
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not saved:
        print("No saved runs yet: reranklens eval --collection C --golden G --save [LABEL]")
    for run in saved:
        scores = ", ".join(
            f"{name} {means.get(REGRESSION_METRIC, 0.0):.4f}" for name, means in run.result.get("pipelines", {}).items()
        )
        print(
            f"#{run.run_id:<4} {run.created_at}  {run.label or '-':<16} {run.collection} / {run.golden_set}  "
            f"{REGRESSION_METRIC}: {scores}"
        )
    return EXIT_OK


def _flat(text: str) -> str:
    return " ".join(text.split())


class _QueryProgress:
    """A tqdm bar of queries on stderr, only when stderr is a terminal (or RERANKLENS_PROGRESS=1)."""

    def __init__(self) -> None:
        self.silent = not sys.stderr.isatty() and os.environ.get("RERANKLENS_PROGRESS") != "1"
        self.bar: Any = None

    def __enter__(self) -> _QueryProgress:
        return self

    def update(self, done: int, total: int, pipeline: str) -> None:
        if self.silent:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="query", desc="evaluating", file=sys.stderr)
        self.bar.set_postfix_str(pipeline, refresh=False)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
