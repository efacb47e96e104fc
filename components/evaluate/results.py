"""Rendering of evaluation results: metric table with deltas, comparisons, latency, sweeps, saved runs."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from components.evaluate.jobs import finish_sweep, start_sweep
from reranklens.errors import ModelUnavailableError, RerankLensError
from reranklens.evaluate import charts as eval_charts
from reranklens.evaluate.pipelines import (
    FIRST_STAGE_RECALL,
    MEASURES,
    PIPELINES,
    UNJUDGED,
    EvalResult,
)
from reranklens.evaluate.report import html_evaluation, report_data
from reranklens.evaluate.runs import RunStore
from reranklens.evaluate.significance import compare_pipelines
from reranklens.ingest.demo import DEMO_COLLECTION, DEMO_GOLDEN_SET, DEMO_HARD_SET
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

# Session-state key of this page (the others are in components.shared.keys).
RERANK_PROBLEMS = "evaluate.rerank_problems"
TABLE_METRICS = [*MEASURES, UNJUDGED, FIRST_STAGE_RECALL]
SWEEP_CANDIDATES = (10, 20, 50, 100)
STAGE_NAMES = {
    "embed": "Query embedding",
    "vector_search": "Vector search",
    "bm25_search": "BM25 search",
    "fuse": "Fusion (RRF)",
    "rerank": "Rerank (cross-encoder)",
    "total": "Total",
}
TIMING_NOTE = (
    "Wall-clock milliseconds per query on this machine. Each query is embedded once, and that time is charged "
    "to every pipeline that searches by vector (vector, hybrid); BM25 needs no embedding. Rerank times the "
    "model itself, never the score cache. Total is the sum of a query's stages: the same figure as the "
    "metrics table and the sweep."
)


def rerank_problem(workspace: Workspace, reranker: str) -> str | None:
    """Why ``reranker`` cannot run here (None when it loads). A failed load is remembered for the session,
    so the page does not retry it on every click."""
    problems: dict[str, str | None] = st.session_state.setdefault(RERANK_PROBLEMS, {})
    if reranker not in problems:
        try:
            workspace.reranker(reranker)
            problems[reranker] = None
        except ModelUnavailableError as exc:
            problems[reranker] = str(exc)
    return problems[reranker]


def default_golden_set(collection: str, sets: list[str]) -> str:
    """The set the page opens on: ``demo-hard`` for the demo (it shows what a second stage fixes; the
    ``demo`` set is one click away), else the set named like the collection, else the first."""
    if collection == DEMO_COLLECTION and DEMO_HARD_SET in sets:
        return DEMO_HARD_SET
    return collection if collection in sets else (DEMO_GOLDEN_SET if DEMO_GOLDEN_SET in sets else sets[0])


def render_set_explainer(golden_set: str) -> None:
    """One line on what the table will show; for ``demo-hard``, why its queries are hard."""
    if golden_set == DEMO_HARD_SET:
        st.caption(
            "**demo-hard**: questions where vector search tends to pick the wrong page (error codes, setting "
            "names, version numbers, negation, answers deep in a long page; each query's note says which). "
            "The table shows how often each pipeline puts the page that answers in its top-k."
        )
    else:
        st.caption("The table shows, per pipeline, how well its ranking finds the judged chunks or pages.")


def pipeline_picker(problem: str | None, options: list[str], plain: tuple[str, ...] = PIPELINES) -> list[str]:
    """The pipelines to run, from ``options`` (the ``plain`` ones and ``+rerank:NAME`` ones): every
    plain one preselected that can run; the ``+rerank`` ones left out, and the reason said plainly, when
    no cross-encoder can be loaded."""
    runnable = [p for p in plain if problem is None or not p.endswith("+rerank")]
    chosen = st.multiselect(
        "Pipelines",
        options,
        default=runnable,
        help="STAGE+rerank:NAME reranks with NAME, one of the models this server offers "
        "(an admin adds more on the Models page); plain +rerank uses the Reranker above.",
    )
    if problem is not None:
        st.warning(
            "**+rerank pipelines are not selected: the reranker cannot be loaded on this machine.** "
            "Pick another reranker above, or register a local model directory on the Models page.",
            icon="⚠️",
        )
        st.caption(markdown_escape(problem))
    return chosen


def latest_saved(
    runs: RunStore, collection: str, golden_set: str, traces: bool = False
) -> tuple[int, EvalResult] | None:
    """The newest saved run of this collection (or trace set) and set that still reads as a result, with its
    number."""
    for saved in runs.list(collection, golden_set):
        if bool(saved.result.get("traces")) != traces:
            continue  # a trace set named like a collection: not the same thing evaluated
        try:
            return saved.run_id, EvalResult.from_json(saved.result)
        except RerankLensError:
            continue
    return None


def render_overview(result: EvalResult, run_id: int | None, reopened: bool = False) -> None:
    if reopened:
        st.caption(f"Showing the last saved run (#{run_id}) of this collection and golden set.")
    saved = f" · saved as run #{run_id}" if run_id else ""
    candidates = "candidates as logged" if result.config.traces else f"N={result.config.candidates}"
    st.caption(
        f"{len(result.queries)} queries · scored at **{result.level}** level · {candidates} · "
        f"reranker {markdown_escape(result.reranker or '—')} · {result.wall_s:.1f} s{saved}"
    )
    for line in result.skipped[:10]:
        st.caption(f"skipped: {markdown_escape(line)}")
    if result.config.traces:
        st.info(
            "Logged misses count: a relevant item your application did not retrieve cannot be rescued by "
            f"reranking. `{FIRST_STAGE_RECALL}` (recall of the logged candidates) is that ceiling. Only the rerank "
            "is timed: the logged retrieval ran in your application.",
            icon="ℹ️",
        )
        return
    st.info(
        f"First-stage misses count: a relevant item outside the top-{result.config.candidates} candidates cannot be "
        f"rescued by reranking. `{FIRST_STAGE_RECALL}` (R@{result.config.candidates} of the candidates) is that "
        "ceiling.",
        icon="ℹ️",
    )


def render_metric_table(result: EvalResult) -> None:
    """One column per pipeline, one row per metric (every metric fits on the screen however many there
    are), each value with its delta against the chosen baseline."""
    names = list(result.pipelines)
    baseline = st.selectbox("Deltas against", names, index=0, key="evaluate.baseline")
    rows: dict[str, dict[str, str]] = {}
    for metric in TABLE_METRICS:
        base = result.pipelines[baseline].mean[metric]
        rows[metric] = {
            name: f"{p.mean[metric]:.3f}" + (f" ({p.mean[metric] - base:+.3f})" if name != baseline else "")
            for name, p in result.pipelines.items()
        }
    for percentile in ("p50", "p95"):
        rows[f"latency {percentile} (ms)"] = {
            name: f"{p.latency_ms['total'][percentile]:.1f}" for name, p in result.pipelines.items()
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "metric"
    st.dataframe(frame, width="stretch", height=(len(frame) + 1) * 35 + 3)
    means = {name: p.mean for name, p in result.pipelines.items()}
    st.plotly_chart(eval_charts.metric_bars(means, ["R@3", "nDCG@10", "RR@10", "Hit@3"]), key="metric_bars")


def render_comparison(result: EvalResult, explore_link: Callable[[str, str], str] | None = None) -> None:
    """Per-query wins and losses of one pipeline against another; ``explore_link`` (query id, query) -> URL
    opens a query in Explore (default: search the evaluated collection)."""
    names = list(result.pipelines)
    if len(names) < 2:
        st.caption("Evaluate two or more pipelines to compare them query by query.")
        return
    cols = st.columns(3)
    baseline = cols[0].selectbox("Baseline", names, index=0, key="evaluate.cmp_base")
    default = next((i for i, n in enumerate(names) if n.endswith("+rerank")), 1)
    candidate = cols[1].selectbox("Candidate", names, index=default, key="evaluate.cmp_cand")
    metric = cols[2].selectbox("Metric", list(MEASURES), index=list(MEASURES).index("nDCG@10"), key="evaluate.metric")
    comparison = compare_pipelines(result, baseline, candidate, metric)
    p_value = "n/a (fewer than 2 queries)" if comparison.p_value is None else f"{comparison.p_value:.4f}"
    ci = "" if comparison.ci_low is None else f", 95 % CI [{comparison.ci_low:+.3f}, {comparison.ci_high:+.3f}]"
    st.markdown(
        f"**{candidate}** vs **{baseline}** on {metric}: mean Δ **{comparison.mean_delta:+.4f}**{ci}, "
        f"paired randomization p = {p_value} · {comparison.wins} wins / {comparison.losses} losses / "
        f"{comparison.ties} ties"
    )
    st.plotly_chart(eval_charts.delta_bars(comparison), key="delta_bars")
    params = {"collection": result.config.collection, "n": str(result.config.candidates)}
    link = explore_link or (lambda _qid, query: "/explore?" + urlencode({**params, "q": query}))
    frame = pd.DataFrame(
        [
            {
                "query": d.query,
                "outcome": d.outcome,
                baseline: round(d.baseline, 4),
                candidate: round(d.candidate, 4),
                "Δ": round(d.delta, 4),
                "explore": link(d.query_id, d.query),
            }
            for d in comparison.deltas
        ]
    )
    st.dataframe(
        frame,
        column_config={"explore": st.column_config.LinkColumn("open in Explore", display_text="explore ↗")},
        hide_index=True,
        width="stretch",
    )


def render_latency(result: EvalResult) -> None:
    st.caption(TIMING_NOTE)
    rows = [
        {
            "pipeline": name,
            "stage": STAGE_NAMES.get(stage, stage),
            "p50 ms": round(v["p50"], 1),
            "p95 ms": round(v["p95"], 1),
        }
        for name, pipeline in result.pipelines.items()
        for stage, v in pipeline.latency_ms.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_sweep(workspace: Workspace, result: EvalResult, sweep_key: str) -> None:
    config = result.config
    others = [n for n in SWEEP_CANDIDATES if n != config.candidates]
    st.caption(
        f"Runs the evaluation again at N = {', '.join(map(str, others))} (slow with a reranker); the point at "
        f"N = {config.candidates} is the result above. Latency is the p50 total, timed as in the table above."
    )
    try:
        if st.button("Run the latency-vs-quality sweep", key="evaluate.sweep_button"):
            start_sweep(workspace, config, others)
        finish_sweep(workspace, result, sweep_key)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")  # the result above stays
    if points := st.session_state.get(sweep_key):
        st.plotly_chart(eval_charts.latency_quality(points, "nDCG@10"), key="latency_quality")


def render_saved_runs(runs: RunStore, collection: str, golden_set: str, traces: bool = False) -> None:
    """Every saved run of this collection (or trace set) and set, newest first, with each pipeline's nDCG@10."""
    saved = [run for run in runs.list(collection, golden_set) if bool(run.result.get("traces")) == traces]
    if not saved:
        st.caption("Each evaluation is saved; the runs of this collection and golden set will be listed here.")
        return
    rows = []
    for run in saved:
        row: dict[str, object] = {"run": f"#{run.run_id}", "when (UTC)": run.created_at.replace("T", " ")[:19]}
        row["label"] = run.label or "—"
        row["N"] = run.result.get("candidates")
        for pipeline, means in run.result.get("pipelines", {}).items():
            row[f"{pipeline} nDCG@10"] = round(means.get("nDCG@10", 0.0), 4)
        rows.append(row)
    st.caption("nDCG@10 of each pipeline in each saved run, newest first.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_report_download(workspace: Workspace, result: EvalResult) -> None:
    """The "Download report" button: the run as one self-contained HTML file (as ``eval --report`` writes)."""
    try:
        data = report_data(result, workspace.golden.qrels(result.config.golden_set, result.level))
    except RerankLensError as exc:
        st.warning(markdown_escape(str(exc)))
        return
    st.download_button(
        "Download report",
        html_evaluation(data),
        f"reranklens-evaluation-{result.config.golden_set}.html",
        "text/html",
        key="evaluate.report",
        help="One HTML file for the people who decide: settings, figures with CIs and paired tests, "
        "latency vs quality, and the biggest wins and losses. It opens offline and prints legibly.",
    )
