"""The Corpus page's "Connect a retriever" part: live retrievers the server calls as a first stage (admins only).

The server fetches the URL a person typed, so its host must be allowed (``RERANKLENS_CONNECT_HOSTS``; loopback
by default). The header value is a secret: a password field, stored owner-only, shown as ``••••`` and never
written to the audit trail. URLs and names are escaped before display.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.shared import keys
from components.shared.identity import audit, require_role
from reranklens.access.audit import connect_detail
from reranklens.access.hosts import CONNECT_HOSTS_VARIABLE, check_host
from reranklens.errors import RerankLensError
from reranklens.retrieve.connections import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, parse_header
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

HEADER_VALUE = "corpus.connect_header_value"


def render_connections(workspace: Workspace) -> None:
    """The connections (with Disconnect) and the Connect form."""
    if message := st.session_state.pop(keys.CONNECT_MESSAGE, None):
        kind, text = message
        if kind == "ok":
            # Once kept, the secret leaves the form: the browser is not sent it back on every rerun.
            st.session_state[HEADER_VALUE] = ""
        (st.success if kind == "ok" else st.error)(markdown_escape(text))
    connections = workspace.connections.all()
    if connections:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "connection": c.name,
                        "url": c.url,
                        "timeout s": c.timeout_s,
                        "headers": ", ".join(c.masked_headers),
                    }
                    for c in connections.values()
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        cols = st.columns([3, 1], vertical_alignment="bottom")
        target = cols[0].selectbox("Connection", list(connections), key="corpus.disconnect_target")
        if cols[1].button("Disconnect", key="corpus.disconnect", help="Forget it and its header value"):
            _disconnect(workspace, target)
    with st.form("connect", border=True):
        st.caption(
            'An endpoint of your application that answers POST {"query", "n"} with {"candidates": [...]} '
            "(the contract in the README; `reranklens serve-retriever module:object` serves a LangChain or "
            "LlamaIndex retriever that way). It then appears next to the collections on Explore, Label and Evaluate."
        )
        left, right = st.columns([2, 1])
        url = left.text_input("Endpoint URL", key="corpus.connect_url", placeholder="http://127.0.0.1:8765/")
        name = right.text_input("Name", key="corpus.connect_name")
        left, middle, right = st.columns([1, 2, 1])
        header_name = left.text_input("Header (optional)", key="corpus.connect_header", placeholder="Authorization")
        header_value = middle.text_input("Header value", type="password", key=HEADER_VALUE)
        timeout = right.number_input(
            "Timeout (s)", 0.5, MAX_TIMEOUT_S, DEFAULT_TIMEOUT_S, step=0.5, key="corpus.connect_timeout"
        )
        if st.form_submit_button("Connect", type="primary"):
            _connect(workspace, url.strip(), name.strip(), header_name.strip(), header_value, float(timeout))


def _connect(workspace: Workspace, url: str, name: str, header_name: str, header_value: str, timeout: float) -> None:
    if not url or not name:
        st.error("Give the endpoint's URL and a name for the connection.")
        return
    try:
        require_role(workspace.settings, "admin", "Connecting a retriever")
        check_host(url, workspace.settings.connect_hosts, CONNECT_HOSTS_VARIABLE)
        headers = dict([parse_header(f"{header_name}: {header_value}")]) if header_name or header_value else {}
        connection = workspace.connect(url, name, headers, timeout)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    audit(
        workspace.settings.data_dir, "connect", connection.name, connect_detail(connection.url, connection.header_names)
    )
    st.session_state[keys.CONNECT_MESSAGE] = (
        "ok",
        f"Connected '{connection.name}': pick it as '🔌 {connection.name}' on Explore, Label and Evaluate.",
    )
    st.rerun()


def _disconnect(workspace: Workspace, name: str) -> None:
    try:
        require_role(workspace.settings, "admin", "Disconnecting a retriever")
        workspace.disconnect(name)
        audit(workspace.settings.data_dir, "disconnect", name)
    except RerankLensError as exc:
        st.session_state[keys.CONNECT_MESSAGE] = ("error", str(exc))
    else:
        st.session_state[keys.CONNECT_MESSAGE] = ("ok", f"Disconnected '{name}' (its header value is deleted).")
    st.rerun()
