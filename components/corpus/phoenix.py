"""The Corpus page's pull from a running Arize Phoenix: a project's retrievals as a trace set, without
exporting a file. Admin-only on a shared server: it makes the server fetch from the URL typed here, so the
host must be allowed (``RERANKLENS_ATTACH_HOSTS``, loopback by default) unless it is the Phoenix the server's
owner configured (``RERANKLENS_PHOENIX_URL``)."""

from __future__ import annotations

import streamlit as st

from components.corpus.trace_sets import imported
from components.shared.identity import require_role
from reranklens.access.hosts import ATTACH_HOSTS_VARIABLE, check_host
from reranklens.errors import RerankLensError
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


def render_phoenix_pull(workspace: Workspace) -> None:
    """A form: Phoenix's URL, the project, the trace set's name; the fields keep what was typed on a refusal."""
    with st.form("phoenix_pull", border=True):
        st.caption("…or pull the spans of a project straight from a running Arize Phoenix.")
        url = st.text_input("Phoenix URL", key="corpus.phoenix_url", placeholder="http://127.0.0.1:6006")
        left, right = st.columns(2)
        project = left.text_input("Phoenix project", key="corpus.phoenix_project", placeholder="default")
        name = right.text_input("Trace set name", key="corpus.phoenix_name")
        if st.form_submit_button("Pull from Phoenix"):
            _pull(workspace, url.strip(), project.strip(), name.strip())


def _pull(workspace: Workspace, url: str, project: str, name: str) -> None:
    if not url or not project or not name:
        st.error("Give Phoenix's URL, the project to pull and a name for the trace set.")
        return
    try:
        require_role(workspace.settings, "admin", "Pulling traces from Phoenix")
        from reranklens.retrieve.phoenix import is_configured_phoenix, phoenix_source, pull_phoenix

        if not is_configured_phoenix(url, workspace.settings):
            check_host(url, workspace.settings.attach_hosts, ATTACH_HOSTS_VARIABLE)
        with st.spinner("Pulling spans from Phoenix…"):
            records = pull_phoenix(url, project, workspace.settings)
            report = workspace.traces.import_traces(name, records, phoenix_source(url, project), "openinference")
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    imported(workspace, report)
