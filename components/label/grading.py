"""The Label page's grading list: one card and one grade control per candidate, saved on click."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.label.suggestions import render_suggestion
from components.shared import keys
from components.shared.grade_control import grade_control, grade_key
from components.shared.identity import require_role
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.golden.store import GRADE_LABELS, GoldenStore
from reranklens.golden.suggest import Suggestion
from reranklens.views.label_sheet import LabelCandidate, LabelSheet, set_progress
from reranklens.views.render import label_card_html, markdown_escape, query_terms


def render_sheet_summary(sheet: LabelSheet, k: int) -> None:
    cols = st.columns(3)
    cols[0].metric("Candidates", len(sheet.candidates))
    cols[1].metric("Judged (chunk level)", sheet.judged)
    cols[2].metric(f"Unjudged in a top-{k}", sheet.unjudged_in_top_k)
    if sheet.orphans:
        st.warning(
            f"{len(sheet.orphans)} label(s) point at chunks that no longer exist (the file changed). They are "
            "kept, not dropped: "
            + ", ".join(f"{markdown_escape(j.target_id)} (grade {j.grade})" for j in sheet.orphans),
            icon="🧷",
        )


def render_set_navigator(golden: GoldenStore, golden_set: str, query: str) -> None:
    """Step through a golden set without typing: a picker of its queries, Previous / Next unjudged query,
    and how many of its queries hold a label. Each control sets the query box in a callback, that is
    before the box is drawn again (setting it after would raise StreamlitAPIException)."""
    progress = set_progress(golden, golden_set)
    if not progress.queries:
        return
    texts = [q.text for q in progress.queries]
    current = " ".join(query.split())
    st.session_state[keys.PICKED_QUERY] = current if current in texts else ""
    st.selectbox("…or pick a query of this set", [""] + texts, key=keys.PICKED_QUERY, on_change=_use_picked_query)
    previous, following = progress.neighbour_unjudged(current, -1), progress.neighbour_unjudged(current, 1)
    back, forward, bar = st.columns([1, 1, 2], vertical_alignment="center")
    back.button(
        "◀ Previous unjudged",
        key="label.previous",
        shortcut="P",
        disabled=previous is None,
        on_click=_use_query,
        args=(previous.text if previous else "",),
        width="stretch",
    )
    forward.button(
        "Next unjudged ▶",
        key="label.next",
        shortcut="N",
        disabled=following is None,
        on_click=_use_query,
        args=(following.text if following else "",),
        width="stretch",
        type="primary",
    )
    total = len(progress.queries)
    bar.progress(
        progress.judged / total,
        text=f"{progress.judged} of {total} {'query' if total == 1 else 'queries'} judged",
    )


def _use_picked_query() -> None:
    if picked := st.session_state.get(keys.PICKED_QUERY):
        _use_query(picked)


def _use_query(text: str) -> None:
    if text:
        st.session_state[keys.QUERY] = text
        st.session_state[keys.PICKED_QUERY] = text


def note_key(golden_set: str, query: str) -> str:
    """The note box's key: one box per set and query, so it never shows another query's note."""
    digest = hashlib.sha1(f"{golden_set}\x1f{' '.join(query.split())}".encode()).hexdigest()[:10]
    return f"{keys.QUERY_NOTE}|{digest}"


def render_query_note(golden: GoldenStore, golden_set: str, query: str, note: str) -> None:
    with st.form("query_note", border=False):
        text = st.text_area(
            "Note on this query (e.g. why it hallucinated)", value=note, key=note_key(golden_set, query)
        )
        if st.form_submit_button("Save note"):
            try:
                require_role(Settings.from_env(), "labeler", "Labeling")
                golden.add_query(golden_set, query, note=text)
                st.toast("Note saved")
            except RerankLensError as exc:
                st.error(markdown_escape(str(exc)))


def render_grading(
    candidates: list[LabelCandidate],
    golden: GoldenStore,
    golden_set: str,
    query: str,
    k: int,
    who: str,
    suggestions: Mapping[str, Suggestion] | None = None,
    focused: int | None = None,
) -> None:
    """One row per candidate: its card and a one-click grade control (click again to clear), with the
    LLM judge's suggestion and an Accept button under the card when ``suggestions`` has one.

    The control shows the labeler's own grade; other people's grades are listed under it (in a blind set
    only once the labeler has graded that chunk). ``focused`` marks the candidate the keys grade."""
    terms = query_terms(query)
    blind = golden_set in golden.names() and golden.is_blind(golden_set)
    for index, candidate in enumerate(candidates):
        chunk_id = candidate.row.chunk.chunk_id
        card, control = st.columns([5, 2], vertical_alignment="center")
        flag = f"unjudged in top-{k}" if candidate.unjudged_in_top_k else ""
        if candidate.grade is None and candidate.doc_grade is not None:
            flag = f"document graded {candidate.doc_grade} ({GRADE_LABELS.get(candidate.doc_grade, 'imported')})"
        if index == focused:
            flag = "⌨️ focused" + (f" · {flag}" if flag else "")
        card.html(label_card_html(candidate.row, k, terms, flag))
        suggestion = (suggestions or {}).get(chunk_id)
        key = grade_key(golden_set, query, chunk_id)
        if suggestion is not None:
            render_suggestion(card, suggestion, candidate.mine, golden, golden_set, query, who, key)
        grade_control(control, golden, golden_set, query, chunk_id, candidate.mine, who, suggestion=suggestion)
        if candidate.others:
            _others_line(control, candidate, blind)


def _others_line(control: DeltaGenerator, candidate: LabelCandidate, blind: bool) -> None:
    if blind and candidate.mine is None:
        control.caption(f"{len(candidate.others)} other grade(s) hidden until you grade (blind set)")
        return
    # Labeler names are free text (or sign-in addresses): escaped for Markdown.
    grades = ", ".join(f"{markdown_escape(j.who or '(unnamed)')} {j.grade}" for j in candidate.others)
    control.caption(f"Others: {grades} · the set uses {candidate.grade}")
