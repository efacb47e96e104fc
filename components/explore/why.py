""" "See why" under the Explore story: the embedding map of the query among its candidates, and the rank
flow of the query through the stages a person picks.

The golden set whose grades mark the map and score the stages is ``keys.EXPLORE_GOLDEN_SET`` (None: no
grades). Document text reaches the page only through the escaped figures of ``reranklens.explain.charts``.
"""

from __future__ import annotations

import streamlit as st

from components.shared import keys
from components.shared.identity import paid_call_guard
from components.shared.reranker_picker import reranker_options
from reranklens.errors import RerankLensError
from reranklens.explain.charts import flow_figure, map_figure
from reranklens.explain.embedding_map import embedding_map
from reranklens.explain.rank_flow import QueryGrades, query_grades, rank_flow, stage_options, stage_title
from reranklens.llm.budget import paid_calls
from reranklens.types import RerankResult, SearchResult
from reranklens.views.explore import ExploreView
from reranklens.views.render import markdown_escape
from reranklens.views.shootout import Shootout
from reranklens.workspace import Workspace

MAP_HELP = (
    "Where the answer sits tells the failures apart: **far from the query** (★), the embedder does not see the "
    "match, an embedding problem; **near the query but ranked low**, a ranking problem, what a reranker is for."
)


def render_why(
    workspace: Workspace, view: ExploreView, search: SearchResult, shoot: Shootout | None, reranker: str | None
) -> None:
    """The map, then the rank flow of the stages the page shows: ``search`` reranked by the shoot-out's
    rerankers (their results reused: a paid reranker is not asked again), or by the view's ``reranker``
    (None: none could load, and the view compares vector and hybrid search)."""
    done: dict[str, RerankResult | str] = {}
    if shoot is not None:
        done = {f"{search.mode}+rerank:{o.name}": o.rerank or o.error or "" for o in shoot.outcomes}
    elif reranker is not None and view.rerank is not None:
        done = {f"{search.mode}+rerank:{reranker}": view.rerank}
    st.subheader("See why")
    golden_set = st.session_state.get(keys.EXPLORE_GOLDEN_SET)
    try:
        grades = query_grades(workspace, golden_set, view.query) if golden_set else None
    except RerankLensError as exc:
        st.warning(markdown_escape(str(exc)), icon="⚠️")
        grades, golden_set = None, None
    render_map(workspace, view, grades)
    _render_flow(workspace, view, search, done, golden_set)


def render_map(workspace: Workspace, view: ExploreView, grades: QueryGrades | None = None) -> None:
    """The embedding map, or one line saying why there is none (a logged retrieval has no vectors)."""
    st.markdown("**Embedding map**")
    st.caption(MAP_HELP)
    slot = st.empty()
    try:
        emap = embedding_map(workspace, view, grades, progress=lambda message: slot.info(message, icon="🗺️"))
    except RerankLensError as exc:
        slot.warning(markdown_escape(str(exc)), icon="⚠️")
        return
    slot.empty()
    if emap.absent:
        st.info(markdown_escape(emap.absent), icon="🗺️")
        return
    with st.container(key="rl-why-map"):
        st.plotly_chart(map_figure(emap), key="why_map_chart")
    st.caption(markdown_escape(emap.note))


def _render_flow(
    workspace: Workspace,
    view: ExploreView,
    search: SearchResult,
    done: dict[str, RerankResult | str],
    golden_set: str | None,
) -> None:
    st.markdown("**Rank flow**")
    options = list(dict.fromkeys([*stage_options(search.mode, reranker_options(workspace.settings)), *done]))
    default = [search.mode, *done] if done else ["vector", "hybrid"]
    chosen = st.multiselect(
        "Stages",
        options,
        default=[s for s in default if s in options],
        format_func=lambda stage: stage_title(stage, workspace.settings.reranker),
        key=keys.EXPLORE_FLOW_STAGES,
        help="The query through each stage, left to right: each one's own ranking of it",
    )
    if not chosen:
        st.info("Pick at least one stage.")
        return
    with paid_calls(paid_call_guard(workspace.settings)), st.spinner("Ranking through the stages…"):
        try:
            flow = rank_flow(
                workspace,
                view.query,
                view.collection,
                chosen,
                len(search.hits),
                view.k,
                golden_set,
                searches={search.mode: search},
                reranked=done,
            )
        except RerankLensError as exc:
            st.warning(markdown_escape(str(exc)), icon="⚠️")
            return
    for stage in flow.stages:
        if stage.error:
            st.warning(f"{markdown_escape(stage.title)}: {markdown_escape(stage.error)}", icon="⚠️")
    if flow.note:
        st.caption(markdown_escape(flow.note))
    with st.container(key="rl-why-flow"):
        st.plotly_chart(flow_figure(flow), key="why_flow_chart")
