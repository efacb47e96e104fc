"""Rendering of evaluation results: metric table with deltas, comparisons, latency, sweeps, saved runs."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from reranklens.evaluate import charts as eval_charts
from reranklens.evaluate.pipelines import FIRST_STAGE_RECALL, MEASURES, UNJUDGED, EvalConfig, EvalResult, evaluate
from reranklens.evaluate.runs import RunStore
from reranklens.evaluate.significance import compare_pipelines
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

TABLE_METRICS = [*MEASURES, UNJUDGED, FIRST_STAGE_RECALL]
SWEEP_CANDIDATES = (10, 20, 50, 100)


def run_with_progress(workspace: Workspace, config: EvalConfig) -> EvalResult:
    bar = st.progress(0.0, text="Evaluating…")

    def update(done: int, total: int, pipeline: str) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"{done}/{total} queries · {pipeline}")

    result = evaluate(workspace, config, update)
    bar.empty()
    return result


def render_overview(result: EvalResult, run_id: int | None) -> None:
    saved = f" · saved as run #{run_id}" if run_id else ""
    st.caption(
        f"{len(result.queries)} queries · scored at **{result.level}** level · N={result.config.candidates} · "
        f"reranker {markdown_escape(result.reranker or '—')} · {result.wall_s:.1f} s{saved}"
    )
    for line in result.skipped[:10]:
        st.caption(f"skipped: {markdown_escape(line)}")
    st.info(
        f"First-stage misses count: a relevant item outside the top-{result.config.candidates} candidates cannot be "
        f"rescued by reranking. `{FIRST_STAGE_RECALL}` (R@{result.config.candidates} of the candidates) is that "
        "ceiling.",
        icon="ℹ️",
    )


def render_metric_table(result: EvalResult) -> None:
    names = list(result.pipelines)
    baseline = st.selectbox("Deltas against", names, index=0, key="evaluate.baseline")
    rows = []
    for name, pipeline in result.pipelines.items():
        row: dict[str, object] = {"pipeline": name}
        for metric in TABLE_METRICS:
            value = pipeline.mean[metric]
            delta = value - result.pipelines[baseline].mean[metric]
            row[metric] = f"{value:.3f}" + (f" ({delta:+.3f})" if name != baseline else "")
        row["p50 ms"] = round(pipeline.latency_ms["total"]["p50"], 1)
        row["p95 ms"] = round(pipeline.latency_ms["total"]["p95"], 1)
        rows.append(row)
    st.dataframe(pd.DataFrame(rows).set_index("pipeline"), width="stretch")
    means = {name: p.mean for name, p in result.pipelines.items()}
    st.plotly_chart(eval_charts.metric_bars(means, ["R@3", "nDCG@10", "RR@10", "Hit@3"]), key="metric_bars")


def render_comparison(result: EvalResult) -> None:
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
    frame = pd.DataFrame(
        [
            {
                "query": d.query,
                "outcome": d.outcome,
                baseline: round(d.baseline, 4),
                candidate: round(d.candidate, 4),
                "Δ": round(d.delta, 4),
                "explore": "/?" + urlencode({**params, "q": d.query}),
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
    rows = [
        {"pipeline": name, "stage": stage, "p50 ms": round(v["p50"], 1), "p95 ms": round(v["p95"], 1)}
        for name, pipeline in result.pipelines.items()
        for stage, v in pipeline.latency_ms.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_sweep(workspace: Workspace, config: EvalConfig, sweep_key: str) -> None:
    st.caption(f"Runs the evaluation at N = {', '.join(map(str, SWEEP_CANDIDATES))} (slow with a reranker).")
    if st.button("Run the latency-vs-quality sweep", key="evaluate.sweep_button"):
        points = []
        for n in SWEEP_CANDIDATES:
            swept = run_with_progress(workspace, EvalConfig(**{**config.__dict__, "candidates": n}))
            points += [
                eval_charts.SweepPoint(name, n, p.latency_ms["total"]["p50"], p.mean["nDCG@10"])
                for name, p in swept.pipelines.items()
            ]
        st.session_state[sweep_key] = points
    if points := st.session_state.get(sweep_key):
        st.plotly_chart(eval_charts.latency_quality(points, "nDCG@10"), key="latency_quality")


def render_saved_runs(runs: RunStore, result: EvalResult) -> None:
    saved = runs.list(result.config.collection, result.config.golden_set)
    if len(saved) < 2:
        st.caption("Saved runs of this collection and golden set will be listed here for comparison.")
        return
    labels = {r.run_id: f"#{r.run_id} · {r.created_at} · {r.label or 'unlabelled'}" for r in saved}
    chosen = st.multiselect("Compare saved runs (nDCG@10)", list(labels), format_func=labels.get, default=[])
    if chosen:
        table = {
            labels[run_id]: {p: round(m["nDCG@10"], 4) for p, m in runs.get(run_id).result["pipelines"].items()}
            for run_id in chosen
        }
        st.dataframe(pd.DataFrame(table), width="stretch")
