"""The Explore page's answer preview: one answer from each ranking's top-k, streamed side by side.

Answers cost money, so they are generated on a click, not on every rerun; they are kept in the
session per (model, both contexts), so changing a widget elsewhere does not lose them, and a
failed request keeps whatever was generated before. Answers are untrusted text: they reach the page
only through ``reranklens.views.answer.answer_html`` / ``streaming_html`` (escaped).
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.shared import keys
from components.shared.identity import chat_model_picker
from reranklens.errors import RerankLensError
from reranklens.llm.client import PRICES_AS_OF, ChatModel, ChatStream, Usage, parse_prices, price_for
from reranklens.views.answer import (
    Answer,
    AnswerContext,
    Side,
    answer_contexts,
    answer_html,
    diff_citations,
    finish_answer,
    start_answer,
    streaming_html,
    total_usage,
)
from reranklens.views.explore import ExploreView
from reranklens.workspace import Workspace

NO_KEY_HELP = (
    "**Answer preview is off:** set `OPENAI_API_KEY` (and `OPENAI_BASE_URL` for any OpenAI-compatible server) "
    "before starting the app to see the answer a chat model gives from each top-k, with the chunks it cites."
)
REDRAW_EVERY_S = 0.05  # redraw a streaming answer at most this often: each redraw is a message to the browser

Signature = tuple[str, str, tuple[str, ...], tuple[str, ...]]


def render_answer_preview(workspace: Workspace, view: ExploreView) -> None:
    """Answer preview for ``view``: model picker, the button, and the answers of this view."""
    st.subheader("Answer preview")
    settings = workspace.settings
    if not settings.openai_api_key:
        st.info(NO_KEY_HELP, icon="💬")
        return
    picker, button = st.columns([3, 1], vertical_alignment="bottom")
    model = chat_model_picker(picker, "Chat model", keys.ANSWER_MODEL, settings)
    st.caption(price_note(model, settings.openai_prices))
    contexts = answer_contexts(view)
    signature = _signature(model, view.query, contexts)
    stored: dict[Signature, dict[Side, Answer]] = st.session_state.setdefault(keys.ANSWER_RESULTS, {})
    answers = dict(stored.get(signature, {}))
    columns = dict(zip(("vector", "reranked"), st.columns(2, gap="medium"), strict=True))
    for context in contexts:
        columns[context.side].markdown(f"**{plain_markdown(context.title)}** · top-{len(context.chunks)}")
    slots = {side: column.empty() for side, column in columns.items()}
    generate = button.button(
        "💬 Generate both answers" if not answers else "💬 Generate again",
        key="answer.generate",
        help="One request per ranking, streamed; costs tokens.",
    )
    if generate:
        answers = _generate(workspace, model, view.query, contexts, slots, answers)
        stored[signature] = answers
    if not answers:
        st.caption("The model gets the query and each ranking's top-k chunks, numbered, and is asked to cite them.")
        return
    _render(answers, slots)


def price_note(model: str, prices: str | None) -> str:
    try:
        price = price_for(model, parse_prices(prices))
    except RerankLensError as exc:
        return str(exc)
    if price is None:
        return f"No price known for '{model}': cost unknown (set RERANKLENS_OPENAI_PRICES to add one)."
    return (
        f"{model}: USD {price[0]:g} in / {price[1]:g} out per million tokens (list prices as of {PRICES_AS_OF}; "
        "override with RERANKLENS_OPENAI_PRICES)."
    )


def _generate(
    workspace: Workspace,
    model: str,
    query: str,
    contexts: tuple[AnswerContext, AnswerContext],
    slots: dict[str, DeltaGenerator],
    previous: dict[Side, Answer],
) -> dict[Side, Answer]:
    """Stream both answers into their slots; on an error, say it and keep what was there."""
    answers = dict(previous)
    partial: tuple[Side, ChatStream] | None = None
    try:
        chat = ChatModel(workspace.settings, model)
        for context in contexts:
            slot = slots[context.side]
            stream = start_answer(chat, query, context)
            partial = (context.side, stream)
            last = 0.0
            for _ in stream:
                if time.monotonic() - last >= REDRAW_EVERY_S:
                    slot.html(streaming_html(stream.text))
                    last = time.monotonic()
            slot.html(streaming_html(stream.text, cursor=False))
            answers[context.side] = finish_answer(stream, context)
    except RerankLensError as exc:
        st.error(plain_markdown(f"{exc} Nothing else on this page changed."), icon="⚠️")
        if partial is not None and partial[0] not in answers:
            side, stream = partial
            with slots[side].container():  # no earlier answer to fall back on: show what arrived
                if stream.text:
                    st.html(streaming_html(stream.text, cursor=False))
                st.caption("This answer broke off." if stream.text else "No answer.")
    return answers


def _render(answers: dict[Side, Answer], slots: dict[str, DeltaGenerator]) -> None:
    both = "vector" in answers and "reranked" in answers
    diff = diff_citations(answers["vector"], answers["reranked"]) if both else None
    for side, answer in answers.items():
        only_here = diff.only_in(side) if diff else frozenset()
        with slots[side].container():
            st.html(answer_html(answer, only_here))
            st.caption(_usage_text(answer.usage))
    if diff is not None:
        usage = total_usage(list(answers.values()))
        st.caption(
            f"{len(diff.both)} chunk(s) cited by both answers, {len(diff.only_vector)} only from the first ranking, "
            f"{len(diff.only_reranked)} only from the second · both answers: {_usage_text(usage)}"
        )


def _usage_text(usage: Usage | None) -> str:
    return "token usage not reported by the server" if usage is None else plain_markdown(usage.describe())


def _signature(model: str, query: str, contexts: tuple[AnswerContext, AnswerContext]) -> Signature:
    vector, reranked = (tuple(c.chunk_id for c in context.chunks) for context in contexts)
    return (model, " ".join(query.split()), vector, reranked)


def plain_markdown(text: str) -> str:
    """Text for st.markdown/caption without markdown meaning ($ starts LaTeX, * and _ emphasis)."""
    for char in "\\`*_[]$<>#":
        text = text.replace(char, "\\" + char)
    return text
