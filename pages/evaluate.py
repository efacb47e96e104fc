"""Evaluate: does reranking help on a golden set, on which queries, at what latency."""

import streamlit as st

from components import keys
from components.evaluate_render import (
    render_comparison,
    render_latency,
    render_metric_table,
    render_overview,
    render_saved_runs,
    render_sweep,
    run_with_progress,
)
from components.rerankers import reranker_options
from components.resources import show_error, workspace_with_demo
from components.suggest_render import render_suggestion_agreement
from reranklens.errors import RerankLensError
from reranklens.evaluate.pipelines import PIPELINES, EvalConfig
from reranklens.evaluate.runs import RunStore

st.title("📏 Evaluate")
workspace = workspace_with_demo()
runs = RunStore(workspace.settings.runs_db_path)
try:
    collections = [info.name for info in workspace.collections()]
    sets = workspace.golden.names()
except RerankLensError as exc:
    show_error(exc)
if not collections or not sets:
    st.info("Evaluation needs a collection and a golden set: ingest documents, then label queries on the Label page.")
    st.stop()

with st.sidebar:
    collection = st.selectbox(
        "Collection", collections, index=collections.index("demo") if "demo" in collections else 0
    )
    default_set = collection if collection in sets else ("demo" if "demo" in sets else sets[0])
    golden_set = st.selectbox("Golden set", sets, index=sets.index(default_set))
    pipelines = st.multiselect("Pipelines", PIPELINES, default=list(PIPELINES))
    candidates = st.slider("Candidates (N)", 5, 200, 50)
    reranker = st.selectbox("Reranker", reranker_options(workspace.settings))
    level = st.radio(
        "Score at",
        ["auto", "doc", "chunk"],
        horizontal=True,
        help="auto: chunk level when the set has chunk labels, else document level",
    )
    label = st.text_input("Run label (optional)", placeholder="e.g. new reranker")
    start = st.button("Run evaluation", type="primary", width="stretch")

try:
    config = EvalConfig(collection, golden_set, tuple(pipelines), candidates, reranker, level)
    if start:
        result = run_with_progress(workspace, config)
        st.session_state[keys.EVAL_RESULT] = result
        st.session_state[keys.EVAL_RUN_ID] = runs.save(result.to_json(), label)
except RerankLensError as exc:
    show_error(exc)

render_suggestion_agreement(workspace.golden, golden_set)
result = st.session_state.get(keys.EVAL_RESULT)
if result is None:
    st.info("Pick a collection, a golden set and pipelines in the sidebar, then **Run evaluation**.")
    st.stop()

render_overview(result, st.session_state.get(keys.EVAL_RUN_ID))
st.subheader("Metrics")
render_metric_table(result)
st.subheader("Query by query")
render_comparison(result)
st.subheader("Latency per stage")
render_latency(result)
with st.expander("Latency vs quality across candidate counts"):
    render_sweep(workspace, result.config, keys.EVAL_SWEEP)
with st.expander("Saved runs"):
    render_saved_runs(runs, result)
