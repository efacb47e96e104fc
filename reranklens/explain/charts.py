"""Plotly figures of the "See why" views: the embedding map and the rank flow (a bump chart over stages).

Security as in ``reranklens.views.charts``: every string from a document (source, heading, preview) or a
setting (a reranker's name) is escaped with ``safe_text``/``html.escape`` and reaches hover text only
through ``customdata``, never inside a ``hovertemplate`` format string.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from reranklens.explain.embedding_map import KIND_LABELS, EmbeddingMap, MapPoint
from reranklens.explain.rank_flow import FLOW_MEASURES, RankFlow
from reranklens.views.charts import _HOVER_4, STATUS_COLORS, STATUS_LABELS, safe_text
from reranklens.views.compare import STATUSES

PREVIEW_LINE = 80
# Same colours as the two-stage charts: in both top-k = stayed, before only = left, after only = entered.
KIND_STYLE: dict[str, dict[str, object]] = {
    "sample": {"color": "#bdbdbd", "size": 5, "opacity": 0.35, "symbol": "circle"},
    "candidate": {"color": STATUS_COLORS["outside"], "size": 8, "opacity": 0.8, "symbol": "circle"},
    "first": {"color": STATUS_COLORS["left_top_k"], "size": 12, "opacity": 1.0, "symbol": "circle"},
    "second": {"color": STATUS_COLORS["entered_top_k"], "size": 12, "opacity": 1.0, "symbol": "circle"},
    "both": {"color": STATUS_COLORS["stayed_in_top_k"], "size": 12, "opacity": 1.0, "symbol": "circle"},
    "query": {"color": "#000000", "size": 18, "opacity": 1.0, "symbol": "star"},
}
GRADED_LINE = {"width": 2.5, "color": "#ff8f00"}


def _map_hover(point: MapPoint, emap: EmbeddingMap) -> list[str]:
    if point.kind == "query":
        return ["Query", safe_text(point.preview), "", ""]
    ranks = ", ".join(
        html.escape(f"{title}: {'#' + str(rank) if rank is not None else 'absent'}")
        for title, rank in ((emap.left_title, point.first_rank), (emap.right_title, point.second_rank))
        if point.kind != "sample"
    )
    if point.grade is not None:
        ranks = f"{ranks} · grade {point.grade}" if ranks else f"grade {point.grade}"
    heading = safe_text(point.heading) if point.heading else ""
    return [safe_text(point.source or point.chunk_id), heading, safe_text(point.preview[:PREVIEW_LINE]), ranks]


def map_figure(emap: EmbeddingMap, height: int = 520) -> go.Figure:
    """The query (a star), the candidates coloured by where they rank (top-k before, after, both, neither),
    graded ones ringed in orange, and the collection's sample faint behind them."""
    fig = go.Figure()
    if emap.absent:
        fig.add_annotation(text=html.escape(emap.absent), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
        return fig
    k = emap.k
    names = {
        "first": f"top-{k} of {emap.left_title} only",
        "second": f"top-{k} of {emap.right_title} only",
        "both": f"top-{k} of both",
    }
    for kind in ("sample", "candidate", "first", "second", "both", "query"):
        group = emap.of_kind(kind)
        if not group:
            continue
        style = KIND_STYLE[kind]
        graded = [p.grade is not None and p.grade > 0 for p in group]
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in group],
                y=[p.y for p in group],
                mode="markers",
                name=html.escape(names.get(kind, KIND_LABELS[kind])),
                marker={
                    "color": style["color"],
                    "size": style["size"],
                    "symbol": style["symbol"],
                    "opacity": style["opacity"],
                    "line": {
                        "width": [GRADED_LINE["width"] if g else 0.5 for g in graded],
                        "color": [GRADED_LINE["color"] if g else "white" for g in graded],
                    },
                },
                customdata=[_map_hover(p, emap) for p in group],
                hovertemplate=_HOVER_4,
            )
        )
    fig.update_layout(
        title={"text": f"Embedding map ({emap.method.upper()}): the query among its candidates"},
        xaxis={"showticklabels": False, "title": {"text": ""}, "zeroline": False},
        yaxis={"showticklabels": False, "title": {"text": ""}, "zeroline": False},
        legend={"title": {"text": "Points"}},
        height=height,
        hovermode="closest",
    )
    return fig


def _column_label(title: str, metrics: dict[str, float] | None) -> str:
    label = html.escape(title)
    if metrics is not None:
        label += "<br>" + " · ".join(f"{name} {metrics[name]:.2f}" for name in FLOW_MEASURES)
    return label


def flow_figure(flow: RankFlow, labels: dict[str, str] | None = None) -> go.Figure:
    """Bump chart of the union of every stage's top-k through the stages, left to right; a chunk is
    coloured by its fate from the first stage to the last (entered, left, stayed in the top-k, or only in
    the top-k of a stage in between: grey). With a golden set each column says its nDCG@10 and Hit@3."""
    stages = flow.ranked()
    fig = go.Figure()
    if not stages:
        fig.add_annotation(text="No stage ranked the query", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
        return fig
    columns = [_column_label(s.title, s.metrics) for s in stages]
    ranks = [s.rank_of() for s in stages]
    k = flow.k
    shown: set[str] = set()
    max_rank = k
    for chunk_id in flow.union_top_k():
        ys = [r.get(chunk_id) for r in ranks]
        before = ys[0] is not None and ys[0] <= k
        after = ys[-1] is not None and ys[-1] <= k
        status = (
            "stayed_in_top_k"
            if before and after
            else "left_top_k"
            if before
            else "entered_top_k"
            if after
            else "outside"
        )
        max_rank = max(max_rank, *(y for y in ys if y is not None))
        chunk = flow.chunks.get(chunk_id)
        label = (labels or {}).get(chunk_id) or (chunk.heading or chunk.source if chunk else "") or chunk_id
        grade = flow.grades.grade(chunk) if flow.grades is not None and chunk is not None else None
        path = " → ".join("–" if y is None else f"#{y}" for y in ys)
        hover = [
            safe_text(label),
            html.escape(STATUS_LABELS[status]),
            html.escape(path),
            f"grade {grade}" if grade is not None else "",
        ]
        color = STATUS_COLORS[status]
        fig.add_trace(
            go.Scatter(
                x=columns,
                y=ys,
                mode="lines+markers",
                name=STATUS_LABELS[status],
                legendgroup=status,
                legendrank=STATUSES.index(status),
                showlegend=status not in shown,
                line={"color": color, "width": 2.5 if status != "outside" else 1.5},
                marker={"color": color, "size": 10},
                opacity=0.55 if status == "outside" else 1.0,
                customdata=[hover] * len(ys),
                hovertemplate=_HOVER_4,
            )
        )
        shown.add(status)
    fig.add_hline(
        y=k + 0.5,
        line={"dash": "dash", "color": "#616161", "width": 1},
        annotation_text=f"top-{k} cut",
        annotation_position="bottom right",
    )
    fig.update_layout(
        title={"text": f"Rank flow of the top-{k} through {len(stages)} stage(s)"},
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": columns},
        yaxis={"title": {"text": "Rank"}, "autorange": "reversed", "dtick": 1 if max_rank <= 30 else None},
        legend={"title": {"text": "First to last stage"}},
        height=max(360, min(900, 22 * max_rank + 160)),
        hovermode="closest",
    )
    return fig
