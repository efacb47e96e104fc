"""Label from the keyboard: ``0``-``3`` grade the focused chunk, ``J``/``K`` move the focus down/up the list.

Streamlit's own ``st.button(shortcut=...)`` (1.52 and later) binds each key; no custom component. The focus
is an index into the candidates on screen, kept per query in ``keys.LABEL_FOCUS`` and back at the first
candidate when another query opens. ``N``/``P`` (next/previous unjudged query) sit on the set navigator's
buttons (components/label/grading.py).
"""

from __future__ import annotations

import streamlit as st

from components.shared import keys
from components.shared.grade_control import GRADE_BUTTONS, save_chunk_grade
from reranklens.golden.store import GoldenStore
from reranklens.views.label_sheet import LabelCandidate

LEGEND = (
    "⌨️ Keys: **0**-**3** grade the focused chunk · **J** / **K** focus the next / previous chunk · "
    "**N** / **P** open the next / previous unjudged query"
)


def focused_index(query: str, count: int) -> int:
    """The focused candidate's index for ``query`` (0 for a query just opened), kept within ``count``."""
    wanted = " ".join(query.split())
    state = st.session_state.get(keys.LABEL_FOCUS)
    index = state[1] if isinstance(state, tuple) and state[0] == wanted else 0
    index = max(0, min(index, count - 1))
    st.session_state[keys.LABEL_FOCUS] = (wanted, index)
    return index


def render_key_bar(
    candidates: list[LabelCandidate], golden: GoldenStore, golden_set: str, query: str, who: str
) -> int | None:
    """The grade and focus buttons with their keys, and the one-line legend; returns the focused index."""
    if not candidates:
        return None
    index = focused_index(query, len(candidates))
    chunk_id = candidates[index].row.chunk.chunk_id
    cols = st.columns(6, vertical_alignment="center")
    for grade, label in GRADE_BUTTONS.items():
        cols[grade].button(
            label,
            key=f"label.key.{grade}",
            shortcut=str(grade),
            on_click=save_chunk_grade,
            args=(golden, golden_set, query, chunk_id, who, grade),
            help=f"Grade the focused chunk (#{index + 1}) {label}",
            width="stretch",
        )
    cols[4].button(
        "Next chunk", key="label.key.down", shortcut="J", on_click=_focus, args=(query, index + 1), width="stretch"
    )
    cols[5].button(
        "Previous chunk", key="label.key.up", shortcut="K", on_click=_focus, args=(query, index - 1), width="stretch"
    )
    st.caption(LEGEND)
    return index


def _focus(query: str, index: int) -> None:
    st.session_state[keys.LABEL_FOCUS] = (" ".join(query.split()), max(0, index))
