"""Chart builders as pure functions: structure, colours, and escaping of untrusted labels."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go
import pytest

from reranklens.evaluate.charts import SweepPoint, latency_quality, log_ticks
from reranklens.views.charts import (
    CUT_COLOR,
    KEPT_COLOR,
    STATUS_COLORS,
    STATUS_LABELS,
    ScatterPoint,
    latency_bar,
    score_scatter,
    slope_chart,
    threshold_chart,
)
from reranklens.views.compare import compare_rankings

EVIL = "<img src=x onerror=alert(1)>"
VECTOR = [("a", 0.91), ("b", 0.88), ("c", 0.80), ("d", 0.75), ("e", 0.70)]
RERANKED = [("e", 7.5), ("a", 6.0), ("b", 2.0), ("c", 1.0), ("d", -3.0)]


def json_strings(fig: go.Figure) -> Iterator[str]:
    """Every string in the figure's JSON, decoded (to_json writes '<' as \\u003c, so a raw search would miss it)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return walk(json.loads(fig.to_json()))


def assert_escaped(fig: go.Figure) -> None:
    """EVIL appears only escaped, anywhere in the figure."""
    strings = list(json_strings(fig))
    assert not [s for s in strings if "<img" in s], "raw HTML from a label reached the figure"
    assert any(html.escape(EVIL) in s for s in strings)


def test_status_colours_and_labels() -> None:
    assert STATUS_COLORS == {
        "entered_top_k": "#2e7d32",
        "left_top_k": "#c62828",
        "stayed_in_top_k": "#1565c0",
        "outside": "#9e9e9e",
    }
    assert STATUS_LABELS["entered_top_k"] == "entered top-k"
    assert set(STATUS_LABELS) == set(STATUS_COLORS)


def test_slope_chart_has_one_trace_per_chunk_coloured_by_status() -> None:
    comparison = compare_rankings(VECTOR, RERANKED, k=3)
    fig = slope_chart(comparison, {"e": "doc-e > Intro"})

    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 5
    for trace, change in zip(fig.data, comparison.changes, strict=True):
        assert trace.line.color == STATUS_COLORS[change.status]
        assert trace.marker.color == STATUS_COLORS[change.status]
        assert trace.legendgroup == change.status
        assert trace.mode == "lines+markers"
        assert tuple(trace.x) == ("Vector search", "Reranked")
        assert tuple(trace.y) == (change.left_rank, change.right_rank)
    # "e" moved from rank 5 to rank 1.
    assert tuple(fig.data[0].y) == (5, 1)
    assert fig.data[0].customdata[0][0] == "doc-e &gt; Intro"  # Plotly shows "&gt;" as ">"
    assert "up 4" in fig.data[0].customdata[0][1]
    # Unlabelled chunks fall back to their id.
    assert fig.data[1].customdata[0][0] == "a"


def test_slope_chart_legend_has_one_entry_per_status() -> None:
    fig = slope_chart(compare_rankings(VECTOR, RERANKED, k=3), {})

    shown = [trace.name for trace in fig.data if trace.showlegend is not False]
    assert sorted(shown) == sorted(["entered top-k", "stayed in top-k", "left top-k", "outside top-k"])


def test_slope_chart_axes_title_and_top_k_cut() -> None:
    fig = slope_chart(compare_rankings(VECTOR, RERANKED, k=3), {}, left_title="Vector", right_title="BGE")

    assert fig.layout.yaxis.autorange == "reversed"
    assert tuple(fig.layout.xaxis.categoryarray) == ("Vector", "BGE")
    assert "3" in fig.layout.title.text
    cuts = [shape for shape in fig.layout.shapes if shape.y0 == shape.y1 == 3.5]
    assert len(cuts) == 1
    assert cuts[0].line.dash == "dash"


def test_slope_chart_draws_lone_markers_for_chunks_absent_from_one_side() -> None:
    vector = [("a", 0.9), ("b", 0.8)]
    hybrid = [("h1", 0.033), ("a", 0.032)]
    fig = slope_chart(compare_rankings(vector, hybrid, k=1), {}, right_title="Hybrid")

    by_name = {trace.customdata[0][0]: trace for trace in fig.data}
    assert len(fig.data) == 3
    assert by_name["h1"].mode == "markers"
    assert (tuple(by_name["h1"].x), tuple(by_name["h1"].y)) == (("Hybrid",), (1,))
    assert by_name["h1"].marker.color == STATUS_COLORS["entered_top_k"]
    assert (tuple(by_name["b"].x), tuple(by_name["b"].y)) == (("Vector search",), (2,))
    assert by_name["b"].customdata[0][3] == "Hybrid: absent"
    assert by_name["a"].mode == "lines+markers"
    assert fig.layout.shapes[0].y0 == 1.5


def test_slope_chart_of_empty_comparison_has_no_traces() -> None:
    fig = slope_chart(compare_rankings([], [], k=3), {})

    assert len(fig.data) == 0
    assert fig.layout.annotations[-1].text == "No results to compare"


def test_slope_chart_escapes_labels_and_titles() -> None:
    fig = slope_chart(compare_rankings(VECTOR, RERANKED, k=3), {"a": EVIL}, right_title="<b>model</b>")

    assert_escaped(fig)
    assert all("<b>model" not in s for s in json_strings(fig))
    assert "&lt;b&gt;model" in fig.data[0].x[1]
    for trace in fig.data:
        assert "onerror" not in trace.hovertemplate
        assert "%{customdata[0]}" in trace.hovertemplate


def test_score_scatter_one_trace_per_status_with_colours_and_titles() -> None:
    points = [
        ScatterPoint("a", "doc-a", 0.91, 6.0, "stayed_in_top_k"),
        ScatterPoint("e", EVIL, 0.70, 7.5, "entered_top_k"),
        ScatterPoint("c", "doc-c", 0.80, 1.0, "left_top_k"),
        ScatterPoint("b", "doc-b", 0.88, 2.0, "stayed_in_top_k"),
    ]
    fig = score_scatter(points)

    assert isinstance(fig, go.Figure)
    assert [trace.name for trace in fig.data] == ["entered top-k", "left top-k", "stayed in top-k"]
    assert [trace.marker.color for trace in fig.data] == ["#2e7d32", "#c62828", "#1565c0"]
    stayed = fig.data[2]
    assert (tuple(stayed.x), tuple(stayed.y)) == ((0.91, 0.88), (6.0, 2.0))
    assert fig.layout.xaxis.title.text == "Vector similarity (cosine)"
    assert fig.layout.yaxis.title.text == "Cross-encoder score"
    assert_escaped(fig)


def test_score_scatter_custom_axis_titles_and_bad_status() -> None:
    fig = score_scatter([ScatterPoint("a", "a", 0.1, 0.2, "outside")], x_title="BM25", y_title="LLM judge")

    assert fig.layout.xaxis.title.text == "BM25"
    assert fig.layout.yaxis.title.text == "LLM judge"
    assert fig.data[0].marker.color == "#9e9e9e"
    with pytest.raises(ValueError, match="unknown status 'moved'"):
        ScatterPoint("a", "a", 0.1, 0.2, "moved")


def test_latency_bar_stacks_stages_in_order_with_total_in_title() -> None:
    fig = latency_bar({"embed": 12.0, "search": 3.5, "rerank": 107.5})

    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text == "Latency: 123 ms"
    assert fig.layout.barmode == "stack"
    assert [trace.name for trace in fig.data] == ["embed", "search", "rerank"]
    assert [trace.x[0] for trace in fig.data] == [12.0, 3.5, 107.5]
    assert all(trace.orientation == "h" for trace in fig.data)
    assert [trace.text[0] for trace in fig.data] == ["12 ms", "3.5 ms", "108 ms"]
    assert fig.layout.xaxis.title.text == "ms"


def test_latency_bar_rejects_negative_time_and_escapes_stage_names() -> None:
    with pytest.raises(ValueError, match="negative time"):
        latency_bar({"embed": -1.0})
    assert_escaped(latency_bar({EVIL: 5.0}))


def test_threshold_chart_colours_kept_and_cut_bars() -> None:
    scores = [("a", 2.5), ("b", 0.5), ("c", 0.49), ("d", -3.0)]
    fig = threshold_chart(scores, 0.5, "Cross-encoder score")

    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 1
    assert tuple(fig.data[0].x) == (1, 2, 3, 4)
    assert tuple(fig.data[0].y) == (2.5, 0.5, 0.49, -3.0)
    # At the threshold counts as kept.
    assert tuple(fig.data[0].marker.color) == (KEPT_COLOR, KEPT_COLOR, CUT_COLOR, CUT_COLOR)
    assert (KEPT_COLOR, CUT_COLOR) == ("#2e7d32", "#9e9e9e")
    lines = [shape for shape in fig.layout.shapes if shape.y0 == shape.y1 == 0.5]
    assert len(lines) == 1
    assert fig.layout.title.text == "2 of 4 kept at threshold 0.5"
    assert fig.layout.yaxis.title.text == "Cross-encoder score"


def test_threshold_chart_escapes_labels() -> None:
    fig = threshold_chart([("a", 1.0)], 0.0, "score", labels={"a": EVIL})

    assert fig.data[0].customdata[0][0] == "&lt;img src=x onerror=alert(1)&gt;"
    assert_escaped(fig)


def test_compact_slope_chart_draws_only_the_top_k_moves_from_rank_one() -> None:
    comparison = compare_rankings(VECTOR, RERANKED, k=3)
    fig = slope_chart(comparison, {}, top_k_only=True, height=330)

    moved = [c for c in comparison.changes if c.status != "outside"]
    assert len(fig.data) == len(moved) and moved
    assert all(not trace.showlegend for trace in fig.data)
    assert fig.layout.height == 330
    low, high = fig.layout.yaxis.range
    assert high == 0.5 and low >= 3.5  # reversed, starting at rank 1 (no "0" tick)


def test_the_latency_axis_is_labelled_in_readable_1_2_5_steps() -> None:
    """Plotly's default log ticks label every minor step; ours say '2 ms', '5 ms', '10 ms'."""
    points = [
        SweepPoint("vector", 10, 3.2, 0.5),
        SweepPoint("vector", 100, 47.0, 0.6),
        SweepPoint("vector+rerank", 100, 480.0, 0.7),
    ]
    axis = latency_quality(points, "nDCG@10").layout.xaxis
    assert axis.type == "log"
    assert list(axis.tickvals) == [2, 5, 10, 20, 50, 100, 200, 500]
    assert list(axis.ticktext) == ["2 ms", "5 ms", "10 ms", "20 ms", "50 ms", "100 ms", "200 ms", "500 ms"]
    assert log_ticks([0.4, 1.3]) == [0.2, 0.5, 1, 2]
    assert log_ticks([0.0]) == []
