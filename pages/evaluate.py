"""Evaluate: does reranking help on a golden set, on which queries, at what latency."""

import streamlit as st

from components.evaluate.jobs import finish_evaluation, start_evaluation
from components.evaluate.judge_agreement import render_people_agreement, render_suggestion_agreement
from components.evaluate.pipelines import pipeline_options, render_costs
from components.evaluate.query_stages import render_query_stages
from components.evaluate.results import (
    default_golden_set,
    latest_saved,
    pipeline_picker,
    render_comparison,
    render_latency,
    render_metric_table,
    render_overview,
    render_report_download,
    render_saved_runs,
    render_set_explainer,
    render_sweep,
    rerank_problem,
)
from components.evaluate.targets import (
    LIVE_NOTE,
    TRACE_NOTE,
    eval_targets,
    live_pipeline_options,
    target_picker,
    trace_links,
    trace_pipeline_options,
)
from components.shared import keys
from components.shared.frame import page_frame
from components.shared.jobs import render_job_list
from components.shared.reranker_picker import reranker_label, reranker_options
from components.shared.resources import show_error, workspace_with_demo
from reranklens.errors import RerankLensError
from reranklens.evaluate.pipelines import LIVE_PIPELINES, TRACE_PIPELINES, EvalConfig
from reranklens.evaluate.runs import RunStore

page_frame("evaluate")

workspace = workspace_with_demo()
runs = RunStore(workspace.settings.runs_db_path)
try:
    targets = eval_targets(
        [info.name for info in workspace.collections()], workspace.traces.names(), workspace.connections.names()
    )
    sets = workspace.golden.names()
except RerankLensError as exc:
    show_error(exc)
if not targets or not sets:
    st.info(
        "Evaluation needs a collection or a trace set, and a golden set: ingest documents (or import traces), "
        "then label queries on the Label page."
    )
    st.stop()

with st.sidebar:
    target = target_picker(targets)
    collection, traces, live = target.name, target.traces, target.live
    golden_set = st.selectbox("Golden set", sets, index=sets.index(default_golden_set(collection, sets)))
    # Only the configured and registry models (no free text: a typed path or Hub id would make the server
    # load anything); those that can load here first, the others marked.
    rerankers = reranker_options(workspace.settings)
    reranker = st.selectbox("Reranker", rerankers, format_func=reranker_label(workspace.settings))
    problem = rerank_problem(workspace, reranker)
    if traces:
        pipelines = pipeline_picker(problem, trace_pipeline_options(rerankers), TRACE_PIPELINES)
        st.caption(TRACE_NOTE)
        candidates = EvalConfig.candidates  # the CLI's default, so the page and `eval --traces` agree
    elif live:
        pipelines = pipeline_picker(problem, live_pipeline_options(rerankers), LIVE_PIPELINES)
        st.caption(LIVE_NOTE)
        candidates = st.slider("Candidates (N)", 5, 200, 50)
    else:
        pipelines = pipeline_picker(problem, pipeline_options(rerankers))
        candidates = st.slider("Candidates (N)", 5, 200, 50)
    level = st.radio(
        "Score at",
        ["auto", "doc", "chunk"],
        horizontal=True,
        help="auto: chunk level when the set has chunk labels, else document level",
    )
    label = st.text_input("Run label (optional)", placeholder="e.g. new reranker")
    start = st.button("Run evaluation", type="primary", width="stretch")

render_set_explainer(golden_set)

try:
    config = EvalConfig(collection, golden_set, tuple(pipelines), candidates, reranker, level, traces, live)
    if start:
        start_evaluation(workspace, config, runs, label)
    finish_evaluation(workspace)  # this session's evaluation job, also after a click that stopped the wait
except RerankLensError as exc:
    show_error(exc)

render_suggestion_agreement(workspace.golden, golden_set)
render_people_agreement(workspace.golden, golden_set)
result = st.session_state.get(keys.EVAL_RESULT)
run_id = st.session_state.get(keys.EVAL_RUN_ID)
shown = None if result is None else (result.config.collection, result.config.traces, result.config.golden_set)
reopened = shown != (collection, traces, golden_set)
if reopened:
    # A reload (or another collection/set picked): the last saved run of this pair, when there is one.
    result, run_id = None, None
    if (latest := latest_saved(runs, collection, golden_set, traces)) is not None:
        run_id, result = latest
if result is None:
    st.info("Pick a collection or trace set, a golden set and pipelines in the sidebar, then **Run evaluation**.")
else:
    render_overview(result, run_id, reopened)
    render_report_download(workspace, result)
    st.subheader("Metrics")
    render_metric_table(result)
    st.subheader("Query by query")
    render_comparison(result, trace_links(workspace, collection) if traces else None)
    if not traces:  # a trace set's stages are the logged ranking: nothing to search again
        st.subheader("One query through the stages")
        render_query_stages(workspace, result, rerankers)
    st.subheader("Latency per stage")
    render_latency(result)
    render_costs(result)  # cost per 1,000 queries next to latency
    # Plain sections, not expanders: a click inside reruns the page and must not fold them away.
    if not traces and not live:  # logged candidates have no N to sweep; a live retriever is not asked N times over
        st.subheader("Latency vs quality across candidate counts")
        render_sweep(workspace, result, keys.EVAL_SWEEP)
st.subheader("Saved runs")
render_saved_runs(runs, collection, golden_set, traces)
render_job_list(workspace.settings)
