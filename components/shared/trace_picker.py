"""The sidebar picker of a logged retrieval (a trace set and one of its traces), shared by Explore and Label.

``?trace=NAME:TRACE_ID`` in the URL picks one directly, so a replay can be shared as a link.
"""

from __future__ import annotations

import streamlit as st

from components.shared import keys
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

TRACE_CHOICES = 200  # traces offered in the picker (the first ones in file order)


def trace_picker(workspace: Workspace) -> tuple[str, str] | None:
    """Sidebar: pick a trace set and one of its traces to replay (None: search a collection as usual).

    ``?trace=NAME:TRACE_ID`` in the URL picks one directly."""
    names = workspace.traces.names()
    if not names:
        return None
    if (url := st.query_params.get("trace")) and ":" in url:
        set_name, trace_id = url.split(":", 1)
        if set_name in names:
            st.session_state.setdefault(keys.TRACE_SET, set_name)
            st.session_state.setdefault(keys.TRACE_ID, trace_id)
    with st.sidebar:
        st.subheader("Replay a logged retrieval")
        set_name = st.selectbox("Trace set", ["", *names], key=keys.TRACE_SET, format_func=lambda n: n or "— none —")
        if not set_name:
            st.query_params.pop("trace", None)
            return None
        ids = workspace.traces.trace_ids(set_name, TRACE_CHOICES)
        current = st.session_state.get(keys.TRACE_ID)
        if current not in ids:
            if current and workspace.traces.has(set_name, current):
                ids = [current, *ids]
            else:
                st.session_state[keys.TRACE_ID] = ids[0] if ids else None
        trace_id = st.selectbox("Trace", ids, key=keys.TRACE_ID)
    if not trace_id:
        return None
    st.query_params["trace"] = f"{set_name}:{trace_id}"
    return set_name, trace_id


def trace_reranker(workspace: Workspace) -> str:
    return str(st.session_state.get(keys.RERANKER) or workspace.settings.reranker)


def render_logged_query(set_name: str, trace_id: str, query: str) -> None:
    where = f"{markdown_escape(set_name)} · {markdown_escape(trace_id)}"
    st.markdown(f"**Logged query** ({where}): {markdown_escape(query)}")
