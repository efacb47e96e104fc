"""One evaluated query through the stages, as rows of one table: each stage's nDCG@10 and Hit@3 for that
query (Evaluate's own scoring, at the run's level) and its top 3, so a person sees at which stage the
answer came in or was lost. Explore's rank flow draws the same stages as a chart."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.shared import keys
from components.shared.identity import paid_call_guard
from reranklens.errors import RerankLensError
from reranklens.evaluate.pipelines import EvalResult, is_reranked, split_pipeline
from reranklens.explain.rank_flow import FLOW_MEASURES, rank_flow, stage_options, stage_title
from reranklens.llm.budget import paid_calls
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

TOP = 3


def _named(pipeline: str, reranker: str | None) -> str:
    """``vector+rerank`` of a run -> ``vector+rerank:NAME`` with the run's reranker, so it is the same model."""
    first, named = split_pipeline(pipeline)
    return f"{first}+rerank:{reranker}" if is_reranked(pipeline) and not named and reranker else pipeline


def render_query_stages(workspace: Workspace, result: EvalResult, rerankers: list[str]) -> None:
    """A query picker, a stage picker (the run's pipelines first) and the table."""
    queries = result.queries
    if not queries:
        return
    default = list(dict.fromkeys(_named(p, result.reranker) for p in result.pipelines))
    options = list(dict.fromkeys([*default, *stage_options("vector", rerankers)]))
    left, right = st.columns([1, 2])
    qid = left.selectbox(
        "Query",
        list(queries),
        format_func=lambda q: f"{q}: {queries[q]}",
        key=keys.EVAL_STAGES_QUERY,
    )
    stages = right.multiselect(
        "Stages",
        options,
        default=default,
        format_func=lambda s: stage_title(s, workspace.settings.reranker),
        key=keys.EVAL_STAGES,
    )
    if not stages:
        st.info("Pick at least one stage.")
        return
    try:
        with paid_calls(paid_call_guard(workspace.settings)), st.spinner("Ranking the query through the stages…"):
            flow = rank_flow(
                workspace,
                queries[qid],
                result.config.collection,
                stages,
                result.config.candidates,
                TOP,
                result.config.golden_set,
                result.level,
            )
    except RerankLensError as exc:
        st.warning(markdown_escape(str(exc)), icon="⚠️")
        return
    rows = []
    for stage in flow.stages:
        row: dict[str, object] = {"stage": stage.title}
        for name in FLOW_MEASURES:
            row[name] = None if stage.metrics is None else round(stage.metrics[name], 4)
        row[f"top {TOP}"] = " | ".join(h.chunk.heading or h.chunk.source for h in stage.hits[:TOP])
        row["note"] = stage.error or ""
        rows.append(row)
    if flow.note:
        st.caption(markdown_escape(flow.note))
    # A dataframe shows document text as text (no Markdown, no HTML).
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
