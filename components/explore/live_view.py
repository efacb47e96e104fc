"""Explore for a connected live retriever: its ranking before, the reranker after, its endpoint's latency as
a stage of its own. Candidates come from another application: escaped before display (the card HTML of
``reranklens.views.render`` and ``markdown_escape``)."""

from __future__ import annotations

import streamlit as st

from components.explore.controls import ExploreParams, url_params
from components.explore.rankings import (
    render_alarms,
    render_columns,
    render_first_stage,
    render_latency,
    render_story,
    render_summary,
)
from components.shared.connection_choice import render_live_problems
from reranklens.errors import ModelUnavailableError, RerankLensError
from reranklens.views.explore import reranked_view
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


def render_live_explore(workspace: Workspace, connection: str, params: ExploreParams) -> None:
    """Ask the retriever, show what it returned (and how its answer broke the contract), then reranked."""
    try:
        with st.spinner(f"Asking your retriever '{connection}'…"):
            answer = workspace.live_search(connection, params.query, params.candidates)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    render_live_problems(answer.problems)
    pending = st.empty()
    with pending.container():
        render_first_stage(answer.search, params.k, params.reranker)
    try:
        view = reranked_view(answer.search, workspace.rerank_trace(answer.search, params.reranker), params.k)
    except ModelUnavailableError as exc:
        pending.empty()
        st.warning(f"No cross-encoder available: your retriever's ranking alone. {markdown_escape(str(exc))}")
        render_first_stage(answer.search, params.k, params.reranker)
        return
    except RerankLensError as exc:
        pending.empty()
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    pending.empty()
    render_alarms(view)
    render_story(view)
    render_summary(view)
    if st.button("🏷️ Label this query", help="Open the Label page with this query and this retriever"):
        st.switch_page("pages/label.py", query_params=url_params(params))
    render_columns(view)
    st.subheader("Latency")
    render_latency(view)  # the endpoint's answer is its own stage, next to the reranker's
