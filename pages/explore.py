"""Explore: vector-search candidates next to their reranked order, and what moved."""

import streamlit as st

from components.answer_render import render_answer_preview
from components.explore_controls import explore_controls, url_params
from components.explore_render import (
    render_charts,
    render_columns,
    render_embedder_alarm,
    render_exports,
    render_first_stage,
    render_latency,
    render_score_panel,
    render_summary,
    render_truncation,
)
from components.rerankers import reranker_options
from components.resources import collection_names, show_error, workspace_with_demo
from components.traces_render import render_trace_explore
from reranklens.errors import RerankLensError
from reranklens.views.render import markdown_escape

st.title("🔎 Explore")
workspace = workspace_with_demo()
# --- Issue 15: a logged retrieval picked in the sidebar replaces the search (components/traces_render.py) ---
if render_trace_explore(workspace):
    st.stop()
# --- end issue 15 ---
collections = collection_names(workspace)

params = explore_controls(collections, reranker_options(workspace.settings), page="explore")
if not params.query:
    st.info("Type a question above to see its candidates before and after reranking.")
    st.stop()

try:
    with st.spinner("Searching…"):
        search = workspace.search(params.query, params.collection, params.mode, params.candidates)
except RerankLensError as exc:
    show_error(exc)

# Candidates first; the reranked column fills in when the cross-encoder is done (cached: at once).
pending = st.empty()
with pending.container():
    render_first_stage(search, params.k, params.reranker)
try:
    view, no_reranker = workspace.second_stage(search, params.candidates, params.k, params.reranker)
except RerankLensError as exc:
    show_error(exc)
pending.empty()

if no_reranker:
    st.warning(
        f"**No cross-encoder available, comparing {view.left_title} with {view.right_title} instead.** "
        + markdown_escape(no_reranker),
        icon="🧭",
    )

render_summary(view)
render_embedder_alarm(workspace, params.collection)
if st.button("🏷️ Label this query", help="Open the Label page with this query and these settings"):
    st.switch_page("pages/label.py", query_params=url_params(params))
render_columns(view)
st.divider()
render_charts(view)
render_score_panel(view)
render_truncation(view, workspace)
st.subheader("Latency")
render_latency(view)
st.subheader("Export this view")
render_exports(view)
render_answer_preview(workspace, view)
