"""Label: turn what you see into golden examples (which chunks answer which query)."""

import streamlit as st

from components.explore.controls import explore_controls
from components.label.grading import render_grading, render_query_note, render_set_navigator, render_sheet_summary
from components.label.keyboard import render_key_bar
from components.label.suggestions import render_label_suggestions
from components.label.team import render_team_panel
from components.label.trace_grading import render_live_label, render_trace_label
from components.shared import keys
from components.shared.connection_choice import connection_of, live_choices
from components.shared.frame import page_frame
from components.shared.identity import labeler_name
from components.shared.reranker_picker import reranker_label, reranker_options
from components.shared.resources import collection_names, show_error, workspace_with_demo
from reranklens.errors import RerankLensError
from reranklens.views.render import markdown_escape

page_frame("label")

workspace = workspace_with_demo()
golden = workspace.golden

sets = golden.names() or ["my-labels"]
if url_set := st.query_params.get("set"):
    st.session_state.setdefault(keys.LABEL_SET, url_set)
st.session_state.setdefault(keys.LABEL_SET, "demo" if "demo" in sets else sets[0])
if st.session_state[keys.LABEL_SET] not in sets:
    sets.append(st.session_state[keys.LABEL_SET])
with st.sidebar:
    golden_set = st.selectbox(
        "Golden set", sets, key=keys.LABEL_SET, accept_new_options=True, help="Type a new name to start a new set."
    )
    who = labeler_name(keys.LABELER)
    scope = st.radio("Show", ["top-k of either ranking", "all candidates"], key=keys.LABEL_SCOPE)

# A logged retrieval picked in the sidebar: grade its candidates instead.
if render_trace_label(workspace, golden_set, who, scope == "all candidates"):
    st.stop()
collections = collection_names(workspace, live_choices(workspace))
params = explore_controls(
    collections, reranker_options(workspace.settings), page="label", reranker_label=reranker_label(workspace.settings)
)
st.query_params["set"] = golden_set or ""
render_set_navigator(golden, golden_set, params.query)
if not params.query or not golden_set:
    st.info("Type a query (or pick one of the set) to judge its candidates.")
    st.stop()
if (connection := connection_of(params.collection)) is not None:
    render_live_label(
        workspace, connection, params.query, golden_set, who, scope == "all candidates", params.candidates, params.k,
        params.reranker,
    )  # fmt: skip
    st.stop()

try:
    view, no_reranker = workspace.explore(
        params.query, params.collection, params.mode, params.candidates, params.k, params.reranker
    )
    sheet = workspace.label_sheet(view, golden_set, who)
except RerankLensError as exc:
    show_error(exc)
if no_reranker:
    st.caption(f"No cross-encoder available; the second ranking is {markdown_escape(view.right_title)}.")
if error := st.session_state.pop(keys.LABEL_ERROR, None):
    st.error(markdown_escape(error))

render_sheet_summary(sheet, params.k)
render_team_panel(workspace, golden_set, params.collection, who)
render_query_note(golden, golden_set, params.query, sheet.query.note if sheet.query else "")
shown = [c for c in sheet.candidates if scope == "all candidates" or c.in_top_k]
st.caption(
    f"{view.left_title} vs {view.right_title}: {len(shown)} shown. Click a grade to save it; "
    "click it again to clear it."
)

suggestions = render_label_suggestions(workspace, shown, golden_set, params.query)
focused = render_key_bar(shown, golden, golden_set, params.query, who)
render_grading(shown, golden, golden_set, params.query, params.k, who, suggestions, focused)
