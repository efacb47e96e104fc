"""Rendering of an Explore view: the two ranking columns, charts, score panel, inspectors, exports.

Document text only reaches the page through ``reranklens.views.render`` (escaped) or plotly figures
built by ``reranklens.views.charts`` (escaped labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.shared import keys
from components.shared.grade_control import grade_control
from reranklens.golden.store import GoldenStore
from reranklens.ingest.embed import canonical_embedder_name
from reranklens.types import SearchResult
from reranklens.views import charts
from reranklens.views.explore import (
    ExploreView,
    ViewRow,
    display_name,
    first_stage_rows,
    latency_stages,
    latency_summary,
    search_title,
    stage_name,
)
from reranklens.views.judged import JudgedView
from reranklens.views.render import column_html, legend_html, markdown_escape, query_terms, row_html, top_k_html
from reranklens.views.report import html_report, markdown_report, view_csv
from reranklens.workspace import Workspace

SCORE_MEANINGS = {
    "vector": "**Vector score** = cosine similarity of query and chunk embeddings (1 − cosine distance); "
    "it says *kinda related*, not *answers the question*.",
    "hybrid": "**Hybrid score** = reciprocal-rank fusion, Σ 1/(60 + rank) over the vector and BM25 lists; "
    "only its order means something.",
    "bm25": "**BM25 score** = term-overlap weight; unbounded, comparable only within one query.",
    "live": "**Retriever score** = the score your retriever returned (0 where it gave none); its meaning is "
    "your retriever's.",
    "logit": "**Reranker raw score** = the cross-encoder's logit (unbounded; higher = more relevant); "
    "**p** = sigmoid(logit), a 0-1 relevance estimate.",
    "relevance": "**Reranker score** = the hosted API's relevance score, already 0-1.",
}
# The columns show this many cards until "Show all" is on: the story is in the top ranks.
COLUMN_ROWS = 10
STORY_CHART_HEIGHT = 330


def render_alarms(view: ExploreView) -> None:
    """Silent failures (an untrained head, equal scores, candidates left unscored): before the story, which
    they make misleading."""
    for alarm in view.alarms:
        st.warning(markdown_escape(alarm), icon="🚨")


def render_summary(view: ExploreView) -> None:
    """The summary numbers in one row that wraps (two by two on a phone) rather than stacking four high."""
    entered, left = len(view.comparison.entered), len(view.comparison.left)
    with st.container(horizontal=True, key="rl-summary"):
        st.metric("Candidates", len(view.left.hits))
        st.metric(f"Entered top-{view.k}", entered)
        st.metric(f"Left top-{view.k}", left)
        st.metric("Total latency", f"{_total_ms(view):.0f} ms")


def render_embedder_alarm(workspace: Workspace, collection: str) -> None:
    """The configured embedder differs from the collection's: say which one queries really use."""
    built_with = workspace.collection_embedder_name(collection)
    configured = canonical_embedder_name(workspace.settings.embedder)
    if built_with != configured:
        built_with = markdown_escape(built_with)  # collection metadata: not ours to trust
        name = markdown_escape(collection)
        st.warning(
            f"Embedder mismatch: collection '{name}' was built with '{built_with}', but RERANKLENS_EMBEDDER is "
            f"'{configured}'. Queries use '{built_with}' (vectors of two models are not comparable); re-ingest with "
            f"--rebuild --embedder {configured} to switch.",
            icon="🚨",
        )


def render_first_stage(search: SearchResult, k: int, reranker: str) -> None:
    """The candidates as soon as search returns; the right column says what is still running."""
    left, right = st.columns(2, gap="medium")
    with left:
        st.subheader(search_title(search))
        st.html(column_html(first_stage_rows(search)[:COLUMN_ROWS], "left", k, search.query))
    with right:
        st.subheader("Reranked")
        st.info(f"Reranking {len(search.hits)} candidates with {markdown_escape(display_name(reranker))}…", icon="⏳")


def render_fallback(view: ExploreView, reason: str) -> None:
    """No cross-encoder: say what is compared instead (always vector before, hybrid after) and why."""
    st.warning(
        # The titles are the app's own (retrieval mode names), not stored text.
        f"**No cross-encoder available: comparing {view.left_title} (before) with {view.right_title} (after) "
        "instead.**",
        icon="🧭",
    )
    with st.expander("Why, and how to get a reranker"):
        st.markdown(markdown_escape(reason))


@dataclass(frozen=True)
class Grading:
    """Grade in place: the cards get the grade control, saving to ``golden_set`` as ``who``."""

    golden: GoldenStore
    golden_set: str
    who: str


def render_story(view: ExploreView, judged: JudgedView | None = None) -> None:
    """The first screen's picture: the colour key, the top-k before and after (graded when a golden set is
    picked), and what moved."""
    st.html(legend_html(view.k))
    table, slope = st.columns([1.1, 1], gap="medium")
    with table:
        st.html(top_k_html(view, judged))
    with slope.container(key="rl-story-slope"):
        st.plotly_chart(
            charts.slope_chart(
                view.comparison,
                _chart_labels(view),
                view.left_title,
                view.right_title,
                top_k_only=True,
                height=STORY_CHART_HEIGHT,
                badges=_badges(view, judged),
            ),
            key="story_slope_chart",
        )


def render_columns(view: ExploreView, judged: JudgedView | None = None, grading: Grading | None = None) -> None:
    """Both rankings as cards: the top ``COLUMN_ROWS`` each, all N with the toggle; with ``grading``, each
    card has the grade control under it."""
    total = max(len(view.left_rows()), len(view.right_rows()))
    show_all = total > COLUMN_ROWS and st.toggle(
        f"Show all {total} candidates", key=keys.SHOW_ALL, help=f"The columns show the top {COLUMN_ROWS} by default."
    )
    limit = None if show_all else COLUMN_ROWS
    left, right = st.columns(2, gap="medium")
    for column, side, title, rows in (
        (left, "left", view.left_title, view.left_rows()),
        (right, "right", view.right_title, view.right_rows()),
    ):
        with column:
            st.subheader(title)
            if grading is None:
                st.html(column_html(rows[:limit], side, view.k, view.query, judged))
            else:
                _graded_cards(view, rows[:limit], side, judged, grading)


def _graded_cards(
    view: ExploreView, rows: list[ViewRow], side: str, judged: JudgedView | None, grading: Grading
) -> None:
    terms = query_terms(view.query)
    # The control shows this person's own grade, as on Label (the badges show the set's consensus).
    query = judged.query if judged is not None else None
    people = grading.golden.person_judgements(grading.golden_set, query.query_id, grading.who) if query else []
    mine = {j.target_id: j.grade for j in people if j.level == "chunk"}
    for row in rows:
        st.html(f'<div class="rl-column rl-graded rl-{side}">{row_html(row, side, view.k, terms, judged)}</div>')
        own = mine.get(row.chunk.chunk_id)
        grade_control(
            st.container(),
            grading.golden,
            grading.golden_set,
            view.query,
            row.chunk.chunk_id,
            own,
            grading.who,
            copy=side,
        )


def _badges(view: ExploreView, judged: JudgedView | None) -> dict[str, str] | None:
    if judged is None:
        return None
    return {row.chunk.chunk_id: badge for row in view.rows if (badge := judged.badge(row.chunk.chunk_id))}


def render_charts(view: ExploreView, judged: JudgedView | None = None) -> None:
    labels = _chart_labels(view)
    points = [
        charts.ScatterPoint(row.chunk.chunk_id, labels[row.chunk.chunk_id], row.similarity, row.right_score, row.status)
        for row in view.rows
        if row.similarity is not None and row.right_score is not None
    ]
    y_title = "Cross-encoder score (logit)" if view.rerank else f"{view.right_title} score"
    scatter, slope = st.columns(2)
    scatter.plotly_chart(charts.score_scatter(points, y_title=y_title), key="score_scatter")
    with slope.expander(f"Every candidate's rank, before and after ({len(view.rows)} chunks)"):
        st.plotly_chart(
            charts.slope_chart(
                view.comparison, labels, view.left_title, view.right_title, badges=_badges(view, judged)
            ),
            key="slope_chart",
        )


def _chart_labels(view: ExploreView) -> dict[str, str]:
    return {row.chunk.chunk_id: f"{row.chunk.doc_id} › {row.chunk.heading}" for row in view.rows}


def render_score_panel(view: ExploreView) -> None:
    with st.expander("What the scores mean, and a cut-off", expanded=False):
        st.markdown(SCORE_MEANINGS[view.left.mode])
        st.markdown(SCORE_MEANINGS[view.rerank.score_kind] if view.rerank else SCORE_MEANINGS[view.right_mode])
        rows = view.right_rows()
        if not rows:
            return
        use_probability = view.rerank is not None
        values = [(r.probability if use_probability else r.right_score) or 0.0 for r in rows]
        low, high = min(values), max(values)
        if high - low < 1e-9:
            st.info("All scores are equal: no threshold separates the candidates.")
            return
        threshold = st.slider(
            "Keep chunks scoring at least",
            float(low),
            float(high),
            float(low + (high - low) / 2),
            step=(high - low) / 100,
            format="%.4f",
            key=keys.THRESHOLD,
        )
        kept = sum(value >= threshold for value in values)
        st.caption(f"{kept} of {len(values)} chunks pass this threshold.")
        title = "p (sigmoid of logit)" if use_probability else "score"
        labels = {r.chunk.chunk_id: r.chunk.doc_id for r in rows}
        scores = [(r.chunk.chunk_id, v) for r, v in zip(rows, values, strict=True)]
        st.plotly_chart(charts.threshold_chart(scores, threshold, title, labels=labels), key="threshold_chart")


def render_truncation(view: ExploreView, workspace: Workspace) -> None:
    if view.rerank is None:
        return
    truncated = [row for row in view.right_rows() if row.truncated]
    window = f"{view.rerank.max_tokens}-token window" if view.rerank.max_tokens else "window"
    with st.expander(f"Truncation inspector: {len(truncated)} chunk(s) longer than the reranker's {window}"):
        if not truncated:
            st.caption("The reranker read every candidate whole.")
            return
        reranker = workspace.reranker(view.rerank.reranker)
        for row in truncated:
            st.markdown(f"**#{row.right_rank}** · saw {row.tokens_seen} of {row.tokens_total} passage tokens")
            seen = reranker.seen_text(row.chunk.passage, row.tokens_seen or 0)
            st.text(seen + " ⟪…the model did not read further⟫")


def render_latency(view: ExploreView) -> None:
    """Every stage, with the reranker split into tokenize / model / post-processing."""
    stages = {stage_name(stage): ms for stage, ms in latency_stages(view.timings_ms).items()}
    st.plotly_chart(charts.latency_bar(stages), key="latency_bar")
    if view.rerank is not None and view.rerank.all_cached:
        st.caption(
            "Every reranker score came from the cache: this query was scored before with this model. "
            + markdown_escape(latency_summary(view))
        )


def render_exports(view: ExploreView, judged: JudgedView | None = None) -> None:
    """CSV, Markdown and HTML of the view; with a golden set, they carry the grades and the figures."""
    cols = st.columns(3)
    cols[0].download_button("CSV", view_csv(view, judged), "reranklens-view.csv", "text/csv")
    cols[1].download_button("Markdown report", markdown_report(view, judged), "reranklens-report.md", "text/markdown")
    cols[2].download_button("HTML report", html_report(view, judged), "reranklens-report.html", "text/html")


def _total_ms(view: ExploreView) -> float:
    return sum(latency_stages(view.timings_ms).values())
