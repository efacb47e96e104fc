"""A connected live retriever as a choice next to the collections (Explore, Label): ``live:NAME``.

Collection names never hold ``:`` (Chroma's rule), so the prefix cannot clash with one; the URL of a view
carries it as is (``?collection=live:NAME``), so a shared link opens the same retriever.
"""

from __future__ import annotations

import streamlit as st

from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

LIVE_PREFIX = "live:"
LIVE_NOTE = (
    "BM25 and hybrid are not offered for a live retriever: it searches its own way, and its ranking is the first stage."
)


def live_choices(workspace: Workspace) -> list[str]:
    """``live:NAME`` for every connection, to append to the collections."""
    return [LIVE_PREFIX + name for name in workspace.connections.names()]


def connection_of(choice: str) -> str | None:
    """The connection a choice names, or None for a collection."""
    return choice.removeprefix(LIVE_PREFIX) if choice.startswith(LIVE_PREFIX) else None


def choice_label(choice: str) -> str:
    name = connection_of(choice)
    return choice if name is None else f"🔌 {name} (live retriever)"


def render_live_problems(problems: tuple[str, ...]) -> None:
    """One warning line per way the retriever's answer broke the contract (its usable candidates are shown)."""
    for problem in problems:
        st.warning(markdown_escape(problem), icon="🔌")
