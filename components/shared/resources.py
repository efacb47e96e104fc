"""Process-wide resources: one Workspace (Chroma client, models, caches) shared by every session.

Streamlit reruns a page on every click; ``st.cache_resource`` keeps models and clients alive across
reruns and sessions, and the workspace's own score cache keeps reranker scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


@st.cache_resource(show_spinner=False)
def get_workspace() -> Workspace:
    return Workspace(Settings.from_env())


def workspace_with_demo() -> Workspace:
    """The workspace, with the bundled demo ingested on the very first start (a progress bar shows it)."""
    workspace = get_workspace()
    try:
        if workspace.demo_pending():
            bar = st.progress(0.0, text="First start: ingesting the Acme Cloud demo corpus…")

            def update(done: int, total: int) -> None:
                bar.progress(done / total if total else 1.0, text=f"Embedding demo chunks: {done}/{total}")

            workspace.ingest_demo(update)
            bar.empty()
    except RerankLensError as exc:
        show_error(exc)
    return workspace


def show_error(exc: RerankLensError) -> None:
    """A user-fixable problem: one clear line, and the page stops there. The message may quote
    untrusted text (a file name, a set name, a query), so Markdown in it shows literally."""
    st.error(markdown_escape(str(exc)), icon="⚠️")
    st.stop()


def collection_names(workspace: Workspace, extra: Sequence[str] = ()) -> list[str]:
    """The collections to pick from, then ``extra`` (connected live retrievers); the page stops with the next
    step when there is nothing to pick."""
    try:
        names = [info.name for info in workspace.collections()] + list(extra)
    except RerankLensError as exc:
        show_error(exc)
    if not names:
        st.info("No collections yet. Ingest documents with: `reranklens ingest PATH --collection NAME`")
        st.stop()
    return names
