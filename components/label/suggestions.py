"""Label suggestions on the Label page: an LLM judge's grade and reason per chunk, accepted or changed
by the person.

Suggestions are kept in the session per (golden set, query), so reruns and grading never lose them,
and a failed request keeps the earlier ones. The judge's reasons are untrusted text: they are
escaped before they reach ``st.html``.
"""

from __future__ import annotations

import html

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.shared import keys
from components.shared.identity import chat_model_picker, has_role, require_role
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.golden.store import GRADE_LABELS, GoldenStore
from reranklens.golden.suggest import Suggestion, suggest_grades
from reranklens.llm.client import ChatModel
from reranklens.views.label_sheet import LabelCandidate
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

NO_KEY_HELP = (
    "Grade suggestions by an LLM judge are off: set `OPENAI_API_KEY` (and `OPENAI_BASE_URL` for a compatible "
    "server) before starting the app to enable them."
)
MAX_SUGGESTED = 30  # chunks per click: bounds the cost of one click
FOR_LABELERS = "Grade suggestions by an LLM judge are for labelers: each one is a paid request."


def render_label_suggestions(
    workspace: Workspace, candidates: list[LabelCandidate], golden_set: str, query: str
) -> dict[str, Suggestion]:
    """The suggest button; returns the suggestions held for this set and query, by chunk id."""
    settings = workspace.settings
    if not settings.openai_api_key:
        st.caption(NO_KEY_HELP)
        return {}
    if not has_role(settings, "labeler"):
        st.caption(FOR_LABELERS)  # the button is not drawn: a viewer cannot spend the team's key on it
        return {}
    held: dict[tuple[str, str], dict[str, Suggestion]] = st.session_state.setdefault(keys.SUGGESTIONS, {})
    slot = (golden_set, " ".join(query.split()))
    picker, button = st.columns([3, 2], vertical_alignment="bottom")
    model = chat_model_picker(picker, "Judge model", keys.SUGGEST_MODEL, settings)
    chunks = [c.row.chunk for c in candidates][:MAX_SUGGESTED]
    if button.button(
        f"🤖 Suggest grades for {len(chunks)} chunk(s)",
        key="label.suggest",
        disabled=not chunks,
        help="An LLM judge proposes a grade and a reason per chunk; you accept or change each.",
    ):
        try:
            require_role(settings, "labeler", "Asking for grade suggestions")
            with st.spinner("Asking the judge…"):
                result = suggest_grades(ChatModel(settings, model), query, chunks)
        except RerankLensError as exc:
            st.error(f"{markdown_escape(str(exc))} Your labels and earlier suggestions are kept.", icon="⚠️")
        else:
            held[slot] = {**held.get(slot, {}), **result.suggestions}
            usage = result.usage.describe().replace("$", "\\$") if result.usage else "token usage not reported"
            missing = f" · no valid grade for {len(result.unanswered)} chunk(s)" if result.unanswered else ""
            st.caption(
                f"{len(result.suggestions)} suggestion(s) from {result_model(result.suggestions)} · {usage}{missing}"
            )
    return dict(held.get(slot, {}))


def result_model(suggestions: dict[str, Suggestion]) -> str:
    return ", ".join(sorted({s.model for s in suggestions.values()})) or "the judge"


def suggestion_html(suggestion: Suggestion) -> str:
    label = GRADE_LABELS.get(suggestion.grade, "")
    reason = f" — {html.escape(suggestion.reason)}" if suggestion.reason else ""
    return (
        f'<div class="rl-suggestion" style="font-size:0.85rem;color:#4a148c">🤖 {html.escape(suggestion.model)} '
        f"suggests <b>{suggestion.grade} · {html.escape(label)}</b>{reason}</div>"
    )


def render_suggestion(
    container: DeltaGenerator,
    suggestion: Suggestion,
    current: int | None,
    golden: GoldenStore,
    golden_set: str,
    query: str,
    who: str,
    widget_key: str,
) -> None:
    """The judge's grade and reason under a card, with Accept (unless the label already is that grade).

    ``widget_key`` is the grade control's session key: accepting sets it, so the control shows the grade.
    """
    container.html(suggestion_html(suggestion))
    if current == suggestion.grade:
        container.caption("✓ your label agrees")
        return
    container.button(
        f"Accept {suggestion.grade}",
        key=f"accept|{widget_key}",
        on_click=_accept,
        args=(suggestion, golden, golden_set, query, who, widget_key),
        help="Store this grade as a suggestion accepted by you.",
    )


def _accept(
    suggestion: Suggestion, golden: GoldenStore, golden_set: str, query: str, who: str, widget_key: str
) -> None:
    try:
        require_role(Settings.from_env(), "labeler", "Labeling")
        query_id = golden.add_query(golden_set, query)
        golden.judge(
            golden_set,
            query_id,
            "chunk",
            suggestion.chunk_id,
            suggestion.grade,
            note=suggestion.reason,
            who=who,
            origin="suggestion",
            suggested_grade=suggestion.grade,
            suggested_by=suggestion.model,
        )
        st.session_state[widget_key] = suggestion.grade
    except RerankLensError as exc:
        st.session_state[keys.LABEL_ERROR] = str(exc)
