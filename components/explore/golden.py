"""Explore with a golden set: the sidebar picker, the best-graded line, the query's figures, and the switch
that turns the cards into a grading sheet ("Grade in place").

The picker defaults to a set that holds the query (for a replayed trace: by trace id or text, as Evaluate
matches them), else "none"; a set deleted while picked falls back to "none". Document ids shown here come
from the corpus: escaped before display.
"""

from __future__ import annotations

import html

import streamlit as st

from components.explore.rankings import Grading
from components.shared import keys
from components.shared.identity import labeler_name, require_role
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.evaluate.judged import judged_view
from reranklens.golden.store import GoldenStore
from reranklens.views.explore import ExploreView
from reranklens.views.judged import FIGURES, JudgedView, match_query, sets_holding
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

NONE_LABEL = "none"


def golden_picker(
    golden: GoldenStore, query: str, trace_id: str | None = None, preferred: str | None = None
) -> str | None:
    """The sidebar's "Golden set" picker; returns the picked set, or None for "none".

    When the query changes the pick is chosen again: the set already picked if it holds the new query, else
    ``preferred`` (the tour's set) if it does, else the first set that holds it, else "none".
    """
    names = golden.names()
    if st.session_state.get(keys.EXPLORE_GOLDEN_SET) not in names:
        st.session_state[keys.EXPLORE_GOLDEN_SET] = None  # never picked, or deleted since
    asked = (" ".join(query.split()), trace_id)
    if st.session_state.get(keys.EXPLORE_GOLDEN_FOR) != asked and query:
        st.session_state[keys.EXPLORE_GOLDEN_FOR] = asked
        current = st.session_state[keys.EXPLORE_GOLDEN_SET]
        if current is None or match_query(golden, current, query, trace_id) is None:
            holding = sets_holding(golden, query, trace_id)
            st.session_state[keys.EXPLORE_GOLDEN_SET] = (
                preferred if preferred in holding else (holding[0] if holding else None)
            )
    with st.sidebar:
        picked = st.selectbox(
            "Golden set",
            [None, *names],
            key=keys.EXPLORE_GOLDEN_SET,
            format_func=lambda name: NONE_LABEL if name is None else name,
            help="Mark each candidate with its grade in this set, and show this query's figures before and after.",
        )
    return picked


def grading_switch(golden: GoldenStore, golden_set: str | None, query: str) -> Grading | None:
    """The sidebar's "Grade in place" switch (off by default: the demo stays clean). On, it returns where
    and as whom grades are saved; with "none" picked it offers to create a set first (None until then)."""
    with st.sidebar:
        if not st.toggle("Grade in place", key=keys.EXPLORE_GRADING, help="A 0-3 grade control under each card"):
            return None
        who = labeler_name(keys.LABELER)
        if golden_set is None:
            st.caption("Grades go into a golden set: pick one above, or start one.")
            st.text_input("New golden set", key=keys.EXPLORE_NEW_SET, placeholder="e.g. my-labels")
            st.button("Create set", on_click=_create_set, args=(golden, query), key="explore.create_set")
            return None
        return Grading(golden, golden_set, who)


def _create_set(golden: GoldenStore, query: str) -> None:
    """Callback (before the picker is drawn again): create the set with this query and pick it."""
    name = str(st.session_state.get(keys.EXPLORE_NEW_SET) or "").strip()
    try:
        require_role(Settings.from_env(), "labeler", "Labeling")
        golden.create_set(name)
        golden.add_query(name, query)
    except RerankLensError as exc:
        st.session_state[keys.LABEL_ERROR] = str(exc)
        return
    st.session_state[keys.EXPLORE_GOLDEN_SET] = name


def judged_for(
    workspace: Workspace, view: ExploreView, golden_set: str | None, trace_id: str | None = None
) -> JudgedView | None:
    """The view read against the picked set (None: "none" picked). A store that fails to read says so in one
    line and the page works on as without a set."""
    if golden_set is None:
        return None
    try:
        return judged_view(view, workspace.golden, golden_set, trace_id)
    except RerankLensError as exc:
        st.warning(markdown_escape(str(exc)), icon="🏷️")
        return None


def render_judged_line(judged: JudgedView | None) -> None:
    """One line above the columns: ``Best-graded chunk: #12 → #3 (…)``, or "not judged in SET"."""
    if error := st.session_state.pop(keys.LABEL_ERROR, None):
        st.error(markdown_escape(error))
    if judged is None:
        return
    if not judged.judged:
        line = judged.not_judged_line()
    else:
        line = judged.best.line() if judged.best else f"No relevant label for this query in {judged.golden_set}."
    st.html(f'<div class="rl-best-graded" style="font-weight:600">🏷️ {html.escape(line)}</div>')


def render_figures(judged: JudgedView | None) -> None:
    """This query's nDCG@10, R@3, RR@10 and Hit@3 after reranking, each with its change from before."""
    if judged is None or judged.metrics is None:
        return
    before, after = judged.metrics["before"], judged.metrics["after"]
    with st.container(horizontal=True, key="rl-figures"):
        for name in FIGURES:
            st.metric(
                name,
                f"{after[name]:.3f}",
                f"{after[name] - before[name]:+.3f}",
                delta_color="normal" if after[name] != before[name] else "off",
                help=f"Before: {before[name]:.3f}. Scored at {judged.metrics_level} level, as Evaluate does.",
            )
