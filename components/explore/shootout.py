"""Explore with up to three rerankers: the sidebar picker, the switch between their orders,
the rank table, the pairwise agreement and each one's latency and cost.

The page's own "Reranker" stays the first; "Compare with" adds up to two more. A reranker that fails
(cannot load, a 429, a timeout) gets one error line; the others stay on the page. Untrusted text
(chunks, model names, error messages quoting them) only reaches the page escaped, as
plain DataFrame cells, or through ``column_html``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from components.shared import keys
from components.shared.reranker_picker import reranker_label
from reranklens.config import Settings
from reranklens.rerank.llm_reranker import OPENAI_PREFIX
from reranklens.types import SearchResult
from reranklens.views.explore import ExploreView, display_name
from reranklens.views.render import column_html, markdown_escape
from reranklens.views.shootout import MAX_RERANKERS, Shootout
from reranklens.workspace import Workspace

TOP_K_COLOUR = "background-color: rgba(33, 195, 84, 0.25)"


def compare_picker(primary: str, options: list[str], settings: Settings) -> list[str]:
    """Sidebar: up to two more rerankers to compare with ``primary``; returns all of them, ``primary``
    first (just ``[primary]`` when none is picked, and the page stays as it was)."""
    offered = list(options)
    if settings.openai_api_key:
        # LLM rerankers only with the chat models this server allows (the team's key pays for them).
        offered += [
            OPENAI_PREFIX + model for model in settings.allowed_chat_models if OPENAI_PREFIX + model not in offered
        ]
    offered = [name for name in offered if name != primary]
    # Only what is offered, also in the session (a name put there by a link or by code is dropped, never
    # loaded): a visitor cannot make the server load a model that is not on the allowed list.
    current = st.session_state.get(keys.COMPARE_RERANKERS) or []
    if any(name not in offered for name in current):
        st.session_state[keys.COMPARE_RERANKERS] = [name for name in current if name in offered]
    with st.sidebar:
        extra = st.multiselect(
            "Compare with",
            offered,
            key=keys.COMPARE_RERANKERS,
            max_selections=MAX_RERANKERS - 1,
            format_func=reranker_label(settings),
            help="Up to two more rerankers side by side: the models this server offers (an admin adds more on "
            "the Models page) and, with an OpenAI key, openai:MODEL for each allowed chat model.",
        )
    return [primary, *(name for name in extra if name in offered)]


def run_shootout(workspace: Workspace, search: SearchResult, rerankers: list[str], k: int) -> Shootout:
    """Every reranker's result (failures as error lines); stops the page when none of them ran. Each LLM
    request counts towards this user's paid calls per hour (the frame's guard); over the limit that reranker
    fails in one line."""
    with st.spinner(f"Reranking with {len(rerankers)} rerankers…"):
        shoot = workspace.shootout(search, rerankers, k)
    if not shoot.succeeded:
        render_failures(shoot)
        st.stop()
    return shoot


def shown_view(shoot: Shootout) -> ExploreView:
    """The view of the reranker the switch shows (the first that ran, until the user switches)."""
    views = {o.name: o.view for o in shoot.succeeded if o.view is not None}
    if st.session_state.get(keys.SHOOTOUT_SHOWN) not in views:
        st.session_state[keys.SHOOTOUT_SHOWN] = next(iter(views))
    return views[st.session_state[keys.SHOOTOUT_SHOWN]]


def render_failures(shoot: Shootout) -> None:
    for outcome in shoot.failed:
        st.error(f"**{markdown_escape(display_name(outcome.name))}** failed: {markdown_escape(outcome.error or '')}")


def render_shootout(shoot: Shootout) -> None:
    """In place of the two columns: before | after (with the switch), then the rank table, the
    agreement per pair, and latency and cost per reranker."""
    render_failures(shoot)
    names = [o.name for o in shoot.succeeded]
    view = shown_view(shoot)
    st.radio(
        "Reranked order shown on the right",
        names,
        key=keys.SHOOTOUT_SHOWN,
        format_func=display_name,
        horizontal=True,
        help="Switch between the rerankers; the first-stage column stays",
    )
    left, right = st.columns(2, gap="medium")
    with left:
        st.subheader(view.left_title)
        st.html(column_html(view.left_rows(), "left", view.k, view.query))
    with right:
        st.subheader(view.right_title)
        rerank = view.rerank
        if rerank is not None and rerank.repairs:
            st.warning(
                "The model's answer was repaired: " + "; ".join(markdown_escape(line) for line in rerank.repairs),
                icon="🩹",
            )
        st.html(column_html(view.right_rows(), "right", view.k, view.query))
    st.subheader("Every candidate under each reranker")
    st.caption(f"Rank under each reranker; ranks in the top-{shoot.k} are coloured.")
    table = rank_table(shoot)
    ranked = [column for column in table.columns if column not in ("first stage", "doc_id", "chunk")]
    st.dataframe(table.style.map(_top_k_colour(shoot.k), subset=ranked), hide_index=True)
    pairs = agreement_table(shoot)
    if not pairs.empty:
        st.dataframe(pairs, hide_index=True)
    st.dataframe(cost_table(shoot), hide_index=True)
    for outcome in shoot.succeeded:
        if outcome.view is view:
            continue  # the shown reranker's alarms are in the page's summary
        for alarm in outcome.view.alarms if outcome.view else ():
            st.caption(f"⚠️ {markdown_escape(display_name(outcome.name))}: {markdown_escape(alarm)}")


def rank_table(shoot: Shootout) -> pd.DataFrame:
    """One row per candidate, first-stage order: its first-stage rank and its rank under each reranker
    (columns by short name; the full name where two short names collide)."""
    names = [o.name for o in shoot.succeeded]
    short = [display_name(name) for name in names]
    labels = {name: s if short.count(s) == 1 else name for name, s in zip(names, short, strict=True)}
    records = [
        {
            "first stage": row.first_stage_rank,
            **{labels[name]: row.ranks[name] for name in names},
            "doc_id": row.chunk.doc_id,
            "chunk": " ".join(row.chunk.text.split())[:80],
        }
        for row in shoot.rank_rows()
    ]
    return pd.DataFrame(records, columns=["first stage", *labels.values(), "doc_id", "chunk"])


def agreement_table(shoot: Shootout) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "pair": f"{display_name(pair.first)} vs {display_name(pair.second)}",
                f"top-{shoot.k} overlap": f"{pair.overlap:.0%}",
                "Kendall's tau": None if pair.tau is None else round(pair.tau, 3),
            }
            for pair in shoot.agreements()
        ]
    )


def cost_table(shoot: Shootout) -> pd.DataFrame:
    """Latency per reranker, and for paid ones the calls, tokens and cost of this query."""
    rows = []
    for outcome in shoot.succeeded:
        rerank = outcome.rerank
        cost = rerank.cost if rerank else None
        if cost is None:
            spent, calls, tokens = "local", None, None
        elif cost.calls == 0:
            spent, calls, tokens = "$0 (cached)", 0, 0
        else:
            spent = "price unknown" if cost.usd is None else f"${cost.usd:.6f}"
            calls, tokens = cost.calls, cost.prompt_tokens + cost.completion_tokens
        rows.append(
            {
                "reranker": display_name(outcome.name),
                "latency (ms)": round(outcome.latency_ms or 0.0, 1),
                "calls": calls,
                "tokens": tokens,
                "cost": spent,
            }
        )
    return pd.DataFrame(rows)


def _top_k_colour(k: int) -> Callable[[object], str]:
    def colour(value: object) -> str:
        return TOP_K_COLOUR if isinstance(value, int | np.integer) and value <= k else ""

    return colour
