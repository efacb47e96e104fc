"""Plotly figures for evaluation results: metric bars, per-query deltas, latency vs quality.

Query texts are untrusted: escaped with ``charts.safe_text`` and shown only through customdata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from reranklens.evaluate.significance import PairedComparison
from reranklens.views.charts import safe_text

WIN_COLOR, LOSS_COLOR, TIE_COLOR = "#2e7d32", "#c62828", "#9e9e9e"


@dataclass(frozen=True)
class SweepPoint:
    """One pipeline evaluated at one candidate count: its p50 latency and a metric's mean."""

    pipeline: str
    candidates: int
    latency_ms: float
    value: float


def metric_bars(means: Mapping[str, Mapping[str, float]], metrics: Sequence[str]) -> go.Figure:
    """Grouped bars: one group per metric, one bar per pipeline."""
    figure = go.Figure()
    for pipeline, values in means.items():
        figure.add_bar(
            name=safe_text(pipeline),
            x=list(metrics),
            y=[values.get(metric, 0.0) for metric in metrics],
            text=[f"{values.get(metric, 0.0):.3f}" for metric in metrics],
            textposition="outside",
        )
    figure.update_layout(barmode="group", yaxis_title="mean over queries", yaxis_range=[0, 1.05], height=380)
    return figure


def delta_bars(comparison: PairedComparison) -> go.Figure:
    """Per-query change of the metric (candidate - baseline), largest change first."""
    deltas = comparison.deltas
    colors = [WIN_COLOR if d.outcome == "win" else LOSS_COLOR if d.outcome == "loss" else TIE_COLOR for d in deltas]
    figure = go.Figure(
        go.Bar(
            x=[safe_text(d.query_id) for d in deltas],
            y=[d.delta for d in deltas],
            marker_color=colors,
            customdata=[[safe_text(d.query), f"{d.baseline:.3f} → {d.candidate:.3f}"] for d in deltas],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
        )
    )
    figure.update_layout(
        title=safe_text(
            f"{comparison.candidate} vs {comparison.baseline}: {comparison.metric} per query "
            f"({comparison.wins} wins, {comparison.losses} losses, {comparison.ties} ties)"
        ),
        yaxis_title=f"Δ {safe_text(comparison.metric)}",
        xaxis_title="query",
        height=360,
    )
    return figure


def latency_quality(points: Sequence[SweepPoint], metric: str) -> go.Figure:
    """Quality against latency: one line per pipeline through its candidate counts."""
    figure = go.Figure()
    for pipeline in dict.fromkeys(p.pipeline for p in points):
        series = sorted((p for p in points if p.pipeline == pipeline), key=lambda p: p.candidates)
        figure.add_scatter(
            name=safe_text(pipeline),
            x=[p.latency_ms for p in series],
            y=[p.value for p in series],
            mode="lines+markers+text",
            text=[f"N={p.candidates}" for p in series],
            textposition="top center",
        )
    ticks = log_ticks([p.latency_ms for p in points])
    figure.update_layout(
        xaxis_title="p50 latency per query (ms)", yaxis_title=safe_text(metric), xaxis_type="log", height=420
    )
    # Plotly's own log ticks label every minor step ("2 5 2 5"), which reads as noise: 1-2-5 steps in ms.
    figure.update_xaxes(tickmode="array", tickvals=ticks, ticktext=[f"{t:g} ms" for t in ticks])
    return figure


def log_ticks(values: Sequence[float]) -> list[float]:
    """1-2-5 tick values (0.1, 0.2, 0.5, 1, 2, 5, 10, ...) from just below the smallest positive value to just
    above the largest; [] when there is none."""
    positive = [v for v in values if v > 0]
    if not positive:
        return []
    low, high = min(positive), max(positive)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    candidates = [m * 10.0**e for e in range(first, last + 1) for m in (1, 2, 5)]
    below = max((t for t in candidates if t <= low), default=candidates[0])
    above = min((t for t in candidates if t >= high), default=candidates[-1])
    return [round(t, 10) for t in candidates if below <= t <= above]
