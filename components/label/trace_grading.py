"""Label for a logged retrieval: grade the candidates of a trace picked in the sidebar (keyed on logged id +
text hash, so a grade survives a re-import)."""

from __future__ import annotations

import streamlit as st

from components.label.grading import render_grading, render_sheet_summary
from components.shared.trace_picker import render_logged_query, trace_picker, trace_reranker
from reranklens.errors import RerankLensError
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
        sheet = workspace.label_sheet(view, golden_set)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return True
    render_logged_query(set_name, trace_id, view.query)
    render_sheet_summary(sheet, k)
    shown = [c for c in sheet.candidates if all_candidates or c.in_top_k]
    st.caption(f"{view.left_title} vs {view.right_title}: {len(shown)} shown. Click a grade to save it.")
    render_grading(shown, workspace.golden, golden_set, view.query, k, who)
    return True
