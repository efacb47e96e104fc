"""Explore: vector-search candidates next to their reranked order, and what moved."""

import streamlit as st

from components.explore.answers import render_answer_preview
from components.explore.controls import explore_controls, url_params
from components.explore.golden import golden_picker, grading_switch, judged_for, render_figures, render_judged_line
from components.explore.live_view import render_live_explore
from components.explore.rankings import (
    render_alarms,
    render_charts,
    render_columns,
    render_embedder_alarm,
    render_exports,
    render_fallback,
    render_first_stage,
    render_latency,
    render_score_panel,
    render_story,
    render_summary,
    render_truncation,
)
from components.explore.shootout import compare_picker, render_shootout, run_shootout, shown_view
from components.explore.tour import say_second_stage, start_tour_from_url, tour_golden_set, tour_panel
from components.explore.trace_replay import render_trace_explore
from components.explore.why import render_why
from components.shared.connection_choice import connection_of, live_choices
from components.shared.frame import page_frame
from components.shared.reranker_picker import reranker_label, reranker_options
from components.shared.resources import collection_names, show_error, workspace_with_demo
from reranklens.errors import RerankLensError

page_frame("explore")

workspace = workspace_with_demo()
# A logged retrieval picked in the sidebar replaces the search.
if render_trace_explore(workspace):
    st.stop()
collections = collection_names(workspace, live_choices(workspace))  # a connected retriever is picked like one

start_tour_from_url(collections)
tour_slot = tour_panel(collections)  # the guided tour of demo-hard, at the top of the sidebar when on
params = explore_controls(
    collections, reranker_options(workspace.settings), page="explore", reranker_label=reranker_label(workspace.settings)
)

# "Compare with" in the sidebar; two or more rerankers turn the columns into a shoot-out.
rerankers = compare_picker(params.reranker, reranker_options(workspace.settings), workspace.settings)
# "Golden set" and "Grade in place" in the sidebar: grades on the cards, the query's figures, grading here.
golden_set = golden_picker(workspace.golden, params.query, preferred=tour_golden_set())
grading = grading_switch(workspace.golden, golden_set, params.query)
if not params.query:
    st.info("Type a question above to see its candidates before and after reranking.")
    st.stop()
if (connection := connection_of(params.collection)) is not None:
    render_live_explore(workspace, connection, params)
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
    shoot = run_shootout(workspace, search, rerankers, params.k) if len(rerankers) > 1 else None
    if shoot is not None:
        view, no_reranker = shown_view(shoot), None
    else:
        view, no_reranker = workspace.second_stage(search, params.candidates, params.k, params.reranker)
except RerankLensError as exc:
    show_error(exc)
pending.empty()

if no_reranker:
    render_fallback(view, no_reranker)
say_second_stage(tour_slot, view, no_reranker)
judged = judged_for(workspace, view, golden_set)
render_alarms(view)
render_embedder_alarm(workspace, params.collection)
render_story(view, judged)  # the reason the page exists: first, also on a phone
render_judged_line(judged)  # "Best-graded chunk: #12 → #3", one line under the picture, above the columns
render_summary(view)
render_figures(judged)
if st.button("🏷️ Label this query", help="Open the Label page with this query and these settings"):
    st.switch_page("pages/label.py", query_params=url_params(params))
render_shootout(shoot) if shoot is not None else render_columns(view, judged, grading)
render_why(workspace, view, search, shoot, None if no_reranker else params.reranker)
st.divider()
render_charts(view, judged)
render_score_panel(view)
render_truncation(view, workspace)
st.subheader("Latency")
render_latency(view)
st.subheader("Export this view")
render_exports(view, judged)
render_answer_preview(workspace, view)
