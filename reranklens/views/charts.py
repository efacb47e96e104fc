"""Plotly chart builders: pure functions from engine values to ``go.Figure``, so they are tested without a browser.

Security: labels and chunk ids come from ingested, untrusted documents, and Plotly renders a subset of HTML
(links, styling) in hover text, tick labels and titles. Every such string is passed through ``html.escape``
and reaches hover text only via ``customdata``, never inside a ``hovertemplate`` format string.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from reranklens.views.compare import STATUSES, Comparison, RankChange

STATUS_COLORS: dict[str, str] = {
    "entered_top_k": "#2e7d32",
    "left_top_k": "#c62828",
    "stayed_in_top_k": "#1565c0",
    "outside": "#9e9e9e",
}
STATUS_LABELS: dict[str, str] = {
    "entered_top_k": "entered top-k",
    "left_top_k": "left top-k",
    "stayed_in_top_k": "stayed in top-k",
    "outside": "outside top-k",
}
KEPT_COLOR = "#2e7d32"
CUT_COLOR = "#9e9e9e"
MAX_LABEL_CHARS = 80  # long headings would make hover boxes wider than the chart

# Hover texts are built in Python (escaped) and shown through customdata; nothing untrusted is in these templates.
_HOVER_4 = "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}<br>%{customdata[3]}<extra></extra>"
_HOVER_1 = "<b>%{customdata[0]}</b><extra></extra>"


@dataclass(frozen=True)
class ScatterPoint:
    """One chunk in the score scatter: x = vector cosine similarity, y = cross-encoder score."""

    chunk_id: str
    label: str
    x: float
    y: float
    status: str

    def __post_init__(self) -> None:
        if self.status not in STATUS_COLORS:
            raise ValueError(f"ScatterPoint {self.chunk_id!r}: unknown status {self.status!r}, use one of {STATUSES}.")


def safe_text(text: str) -> str:
    """Truncate, then HTML-escape a string from a document so Plotly shows it as text, never as markup."""
    text = str(text)
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "…"
    return html.escape(text)


def slope_chart(
    comparison: Comparison,
    labels: Mapping[str, str],
    left_title: str = "Vector search",
    right_title: str = "Reranked",
    *,
    top_k_only: bool = False,
    height: int | None = None,
    badges: Mapping[str, str] | None = None,
) -> go.Figure:
    """Bump chart of every chunk's rank on the left and on the right, coloured by top-k status.

    ``top_k_only`` draws only the chunks in either top-k (what entered, left or stayed), without a
    legend (the page shows one), for a compact first-screen chart of ``height`` pixels.

    One trace per chunk (a line for chunks in both rankings, a lone marker on its side otherwise), grouped
    per status in the legend. The dashed line at ``k + 0.5`` is the top-k cut. ``labels`` maps chunk_id to
    display text (falls back to the chunk_id). ``badges`` maps chunk_id to a short mark drawn beside both of
    its points (a golden set's "grade 3" or "unjudged").
    """
    left_x, right_x = html.escape(left_title), html.escape(right_title)
    k = comparison.k
    fig = go.Figure()
    shown_in_legend: set[str] = set()
    changes = [c for c in comparison.changes if not top_k_only or c.status != "outside"]
    for change in changes:
        xs: list[str] = []
        ys: list[int] = []
        if change.left_rank is not None:
            xs.append(left_x)
            ys.append(change.left_rank)
        if change.right_rank is not None:
            xs.append(right_x)
            ys.append(change.right_rank)
        color = STATUS_COLORS[change.status]
        hover = _slope_hover(change, labels.get(change.chunk_id, change.chunk_id), left_title, right_title)
        badge = safe_text((badges or {}).get(change.chunk_id, ""))
        sides = ["middle left" if x == left_x else "middle right" for x in xs]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode=("lines+markers" if len(xs) == 2 else "markers") + ("+text" if badge else ""),
                text=[badge] * len(xs) if badge else None,
                textposition=sides if badge else None,
                textfont={"size": 11, "color": color},
                name=STATUS_LABELS[change.status],
                legendgroup=change.status,
                legendrank=STATUSES.index(change.status),
                showlegend=not top_k_only and change.status not in shown_in_legend,
                line={"color": color, "width": 2.5 if change.status != "outside" else 1.5},
                marker={"color": color, "size": 10},
                opacity=0.5 if change.status == "outside" else 1.0,
                customdata=[hover] * len(xs),
                hovertemplate=_HOVER_4,
            )
        )
        shown_in_legend.add(change.status)

    max_rank = max((r for c in changes for r in (c.left_rank, c.right_rank) if r is not None), default=k)
    fig.add_hline(
        y=k + 0.5,
        line={"dash": "dash", "color": "#616161", "width": 1},
        annotation_text=f"top-{k} cut",
        annotation_position="bottom right",
    )
    fig.update_layout(
        title={"text": f"Top-{k}: {left_x} vs {right_x}"},
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": [left_x, right_x], "range": [-0.3, 1.3]},
        yaxis={"title": {"text": "Rank"}, "autorange": "reversed", "dtick": 1 if max_rank <= 30 else None},
        legend={"title": {"text": "Status"}},
        height=height or max(320, 26 * max(max_rank, k + 1) + 140),
        hovermode="closest",
    )
    if top_k_only:
        fig.update_layout(margin={"t": 40, "b": 30, "l": 50, "r": 20}, title={"text": f"What moved in the top-{k}"})
        # Ranks start at 1: no "0" tick above the first place (reversed: the best rank on top).
        fig.update_yaxes(autorange=False, range=[max(max_rank, k + 1) + 0.5, 0.5])
    if not comparison.changes:
        fig.add_annotation(text="No results to compare", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def score_scatter(
    points: Sequence[ScatterPoint],
    *,
    x_title: str = "Vector similarity (cosine)",
    y_title: str = "Cross-encoder score",
) -> go.Figure:
    """Scatter of first-stage similarity against reranker score: points far from the diagonal trend are the
    chunks the reranker disagrees about. One trace per status present, in a fixed order."""
    x_safe, y_safe = html.escape(x_title), html.escape(y_title)
    fig = go.Figure()
    for status in STATUSES:
        group = [p for p in points if p.status == status]
        if not group:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in group],
                y=[p.y for p in group],
                mode="markers",
                name=STATUS_LABELS[status],
                legendgroup=status,
                marker={"color": STATUS_COLORS[status], "size": 10, "line": {"width": 1, "color": "white"}},
                customdata=[
                    [
                        safe_text(p.label or p.chunk_id),
                        f"{x_safe}: {p.x:.4f}",
                        f"{y_safe}: {p.y:.4f}",
                        STATUS_LABELS[status],
                    ]
                    for p in group
                ],
                hovertemplate=_HOVER_4,
            )
        )
    fig.update_layout(
        title={"text": f"{y_safe} vs {x_safe}"},
        xaxis={"title": {"text": x_safe}},
        yaxis={"title": {"text": y_safe}},
        legend={"title": {"text": "Status"}},
        hovermode="closest",
    )
    return fig


def latency_bar(timings_ms: Mapping[str, float]) -> go.Figure:
    """One horizontal bar stacked by stage (in the given order), so the slow stage stands out; total in the title.

    Raises ValueError for a negative timing (a clock bug, not something to draw).
    """
    for stage, ms in timings_ms.items():
        if ms < 0:
            raise ValueError(f"Stage {stage!r} has a negative time ({ms} ms): timings must be >= 0.")
    total = sum(timings_ms.values())
    fig = go.Figure()
    for stage, ms in timings_ms.items():
        fig.add_trace(
            go.Bar(
                x=[ms],
                y=["latency"],
                orientation="h",
                name=safe_text(stage),
                text=[f"{_format_ms(ms)} ms"],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate="%{x:.1f} ms",
            )
        )
    fig.update_layout(
        title={"text": f"Latency: {_format_ms(total)} ms"},
        barmode="stack",
        xaxis={"title": {"text": "ms"}, "rangemode": "tozero"},
        yaxis={"visible": False},
        legend={"orientation": "h", "traceorder": "normal"},
        height=220,
    )
    return fig


def threshold_chart(
    scores: Sequence[tuple[str, float]],
    threshold: float,
    score_title: str,
    *,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Scores in rank order as bars, kept (score >= threshold) in green and cut in grey, with the threshold line:
    shows how many chunks a score cut-off would pass to the LLM. ``labels`` (optional) are shown on hover."""
    labels = labels or {}
    ranks = list(range(1, len(scores) + 1))
    values = [float(score) for _, score in scores]
    kept = [value >= threshold for value in values]
    score_safe = html.escape(score_title)
    fig = go.Figure(
        go.Bar(
            x=ranks,
            y=values,
            marker={"color": [KEPT_COLOR if keep else CUT_COLOR for keep in kept]},
            customdata=[
                [
                    safe_text(labels.get(chunk_id, chunk_id)),
                    f"rank {rank}: {score_safe} {value:.4f}",
                    "kept" if keep else "cut",
                ]
                for rank, (chunk_id, _), value, keep in zip(ranks, scores, values, kept, strict=True)
            ],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_hline(
        y=threshold,
        line={"dash": "dash", "color": "#424242", "width": 1.5},
        annotation_text=f"threshold {threshold:g}",
        annotation_position="top right",
    )
    fig.update_layout(
        title={"text": f"{sum(kept)} of {len(values)} kept at threshold {threshold:g}"},
        xaxis={"title": {"text": "Rank"}, "dtick": 1 if len(values) <= 30 else None},
        yaxis={"title": {"text": score_safe}},
        bargap=0.2,
    )
    return fig


def _slope_hover(change: RankChange, label: str, left_title: str, right_title: str) -> list[str]:
    status = STATUS_LABELS[change.status]
    if change.shift is not None:
        moved = (
            f"up {change.shift}" if change.shift > 0 else f"down {-change.shift}" if change.shift < 0 else "same rank"
        )
        status = f"{status}, {moved}"
    return [
        safe_text(label),
        html.escape(status),
        _side_text(left_title, change.left_rank, change.left_score),
        _side_text(right_title, change.right_rank, change.right_score),
    ]


def _side_text(title: str, rank: int | None, score: float | None) -> str:
    if rank is None or score is None:
        return html.escape(f"{title}: absent")
    return html.escape(f"{title}: rank {rank}, score {score:.4f}")


def _format_ms(ms: float) -> str:
    # Sub-10 ms stages (e.g. BM25 on a small corpus) would all read "0 ms" or "3 ms" without a decimal.
    return f"{ms:.1f}" if ms < 10 else f"{ms:.0f}"
