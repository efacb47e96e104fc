"""Explore for a logged retrieval: its logged ranking before, reranked after, with the logged answer and
which chunks it rests on.

Queries, candidate texts and answers come from another application's log: they are escaped before
display (``markdown_escape``, or the escaped card HTML of ``reranklens.views.render``).
"""

from __future__ import annotations

import streamlit as st

from components.explore.golden import golden_picker, judged_for, render_figures, render_judged_line
from components.explore.rankings import render_alarms, render_columns, render_first_stage, render_summary
from components.explore.why import render_map
from components.shared.trace_picker import render_logged_query, trace_picker, trace_reranker
from reranklens.errors import ModelUnavailableError, RerankLensError
from reranklens.views.explore import ExploreView
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


def _trace_view(workspace: Workspace, set_name: str, trace_id: str, k: int) -> ExploreView | None:
    """The replayed view; without a cross-encoder, the logged ranking alone (and why)."""
    search = workspace.trace_search(set_name, trace_id)
    try:
        view, _ = workspace.trace_view(set_name, trace_id, k, trace_reranker(workspace))
    except ModelUnavailableError as exc:
        st.warning(f"No cross-encoder available: the logged ranking alone. {markdown_escape(str(exc))}", icon="🧭")
        render_first_stage(search, k, trace_reranker(workspace))
        return None
    return view


def render_trace_explore(workspace: Workspace, k: int = 3) -> bool:
    """Explore for a picked trace: True when one was shown (the page stops there)."""
    picked = trace_picker(workspace)
    if picked is None:
        return False
    set_name, trace_id = picked
    try:
        trace = workspace.traces.get(set_name, trace_id)
        golden_set = golden_picker(workspace.golden, trace.query, trace_id)
        render_logged_query(set_name, trace_id, trace.query)
        with st.spinner("Reranking the logged candidates…"):
            view = _trace_view(workspace, set_name, trace_id, k)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return True
    judged = judged_for(workspace, view, golden_set, trace_id) if view is not None else None
    if view is not None:
        render_alarms(view)
        render_judged_line(judged)
        render_summary(view)
        render_figures(judged)
    _render_answer(trace.answer, [c.id for c in trace.candidates[:k]], view)
    if view is not None:
        render_columns(view, judged)
        render_map(workspace, view)  # says why a logged retrieval has no map
    return True


def _render_answer(answer: str | None, top_ids: list[str], view: ExploreView | None) -> None:
    with st.container(border=True):
        st.markdown("**Logged answer**")
        if not answer:
            st.caption("The log holds no answer for this trace.")
            return
        st.text(answer)
        moved = ""
        if view is not None:
            after = {row.chunk.chunk_id.split("#")[0]: row.right_rank for row in view.rows}
            moved = " · ".join(
                f"{markdown_escape(i)} → {'not reranked' if after.get(i) is None else f'#{after[i]} after reranking'}"
                for i in top_ids
            )
        st.caption(
            f"It rests on the logged top-{len(top_ids)}: {moved or ', '.join(markdown_escape(i) for i in top_ids)}"
        )
