"""The 0-3 grade control under a candidate card, shared by the Label page and Explore's "Grade in place".

One control, one way of saving: the same golden store, the labeller's name, origin ``human`` (or the
accepted suggestion's), the same role check, and a click on the chosen grade clears it. The control's
value is set from the store on every run (not from a default kept by the widget), so two copies of it (a
chunk in both Explore columns) and the badges always show what was saved, and a refused save (no role)
does not leave a grade on screen that the store does not hold.
"""

from __future__ import annotations

import hashlib

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.shared import keys
from components.shared.identity import require_role
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.golden.store import GoldenStore
from reranklens.golden.suggest import Suggestion

GRADE_BUTTONS = {0: "0 · not relevant", 1: "1 · related", 2: "2 · relevant", 3: "3 · answers it"}


def grade_key(golden_set: str, query: str, chunk_id: str, copy: str = "") -> str:
    """The control's session key for one set, query and chunk; ``copy`` tells apart two controls of one chunk."""
    digest = hashlib.sha1(f"{golden_set}\x1f{' '.join(query.split())}".encode()).hexdigest()[:10]
    return f"grade|{digest}|{chunk_id}" + (f"|{copy}" if copy else "")


def grade_control(
    container: DeltaGenerator,
    golden: GoldenStore,
    golden_set: str,
    query: str,
    chunk_id: str,
    grade: int | None,
    who: str,
    *,
    copy: str = "",
    suggestion: Suggestion | None = None,
) -> str:
    """Draw the control for ``chunk_id`` showing its stored chunk-level ``grade``; returns its session key.
    A failed save (no labeller role, a bad set name) is left in ``keys.LABEL_ERROR`` for the page to show."""
    key = grade_key(golden_set, query, chunk_id, copy)
    st.session_state[key] = grade
    container.segmented_control(
        "Grade",
        list(GRADE_BUTTONS),
        format_func=lambda g: str(g),
        key=key,
        on_change=_save_grade,
        args=(golden, golden_set, query, chunk_id, who, key, suggestion),
        help=" / ".join(GRADE_BUTTONS.values()),
    )
    if grade is not None:  # the chosen grade, unmistakable (our own fixed text, no user text)
        container.markdown(f":blue-background[**✓ graded {GRADE_BUTTONS.get(grade, grade)}**]")
    return key


def _save_grade(
    golden: GoldenStore,
    golden_set: str,
    query: str,
    chunk_id: str,
    who: str,
    key: str,
    suggestion: Suggestion | None = None,
) -> None:
    """Save the person's grade; a suggestion shown next to it is stored with it (for agreement)."""
    grade = st.session_state.get(key)
    try:
        require_role(Settings.from_env(), "labeler", "Labeling")
        query_id = golden.add_query(golden_set, query)
        if grade is None:
            golden.unjudge(golden_set, query_id, "chunk", chunk_id, who=who)
        else:
            golden.judge(
                golden_set,
                query_id,
                "chunk",
                chunk_id,
                int(grade),
                who=who,
                suggested_grade=suggestion.grade if suggestion else None,
                suggested_by=suggestion.model if suggestion else "",
            )
    except RerankLensError as exc:
        st.session_state[keys.LABEL_ERROR] = str(exc)
