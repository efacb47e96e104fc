"""Label for a first stage that is not ours: grade the candidates of a trace picked in the sidebar, or of a
connected live retriever's answer (keyed on the returned id + text hash, so a grade stays with that text)."""

from __future__ import annotations

import streamlit as st

from components.label.grading import render_grading, render_sheet_summary
from components.shared.connection_choice import render_live_problems
from components.shared.trace_picker import render_logged_query, trace_picker, trace_reranker
from reranklens.errors import RerankLensError
from reranklens.views.explore import ExploreView
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


def render_trace_label(workspace: Workspace, golden_set: str, who: str, all_candidates: bool, k: int = 3) -> bool:
    """Label for a picked trace: grade its candidates (keyed on logged id + text hash). True when shown."""
    picked = trace_picker(workspace)
    if picked is None:
        return False
    set_name, trace_id = picked
    if not golden_set:
        st.info("Pick or name a golden set in the sidebar to grade this trace.")
        return True
    try:
        view, _ = workspace.trace_view(set_name, trace_id, k, trace_reranker(workspace))
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return True
    render_logged_query(set_name, trace_id, view.query)
    render_view_grading(workspace, view, golden_set, who, all_candidates)
    return True


def render_live_label(
    workspace: Workspace,
    connection: str,
    query: str,
    golden_set: str,
    who: str,
    all_candidates: bool,
    candidates: int = 50,
    k: int = 3,
    reranker: str | None = None,
) -> None:
    """Label for a live retriever: grade what it returns for ``query`` (its ranking before, reranked after)."""
    try:
        with st.spinner(f"Asking your retriever '{connection}'…"):
            view, answer = workspace.live_view(connection, query, candidates, k, reranker)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    render_live_problems(answer.problems)
    render_view_grading(workspace, view, golden_set, who, all_candidates)


def render_view_grading(
    workspace: Workspace, view: ExploreView, golden_set: str, who: str, all_candidates: bool
) -> None:
    """The grading list of a view whose first stage is another application's (its candidates' own ids)."""
    try:
        sheet = workspace.label_sheet(view, golden_set, who)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    render_sheet_summary(sheet, view.k)
    shown = [c for c in sheet.candidates if all_candidates or c.in_top_k]
    st.caption(f"{view.left_title} vs {view.right_title}: {len(shown)} shown. Click a grade to save it.")
    render_grading(shown, workspace.golden, golden_set, view.query, view.k, who)
