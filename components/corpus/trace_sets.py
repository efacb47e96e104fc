"""The Corpus page's trace sets: the list (with Delete) and the import form (upload or a path on the server).

Names and sources come from another application's log: they are escaped before display. A path typed here
must lie inside ``RERANKLENS_INGEST_ROOTS``; where a trace set came from is shown to admins only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from components.shared import keys
from components.shared.identity import audit, current_role, has_role, require_role
from components.shared.uploads import UPLOADS_FOR_ADMINS, checked_uploads
from reranklens.access.roots import check_ingest_file
from reranklens.errors import RerankLensError
from reranklens.retrieve.openinference import read_openinference
from reranklens.retrieve.traces import TRACE_FORMATS, TraceImportReport, read_jsonl
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


def render_trace_sets(workspace: Workspace) -> None:
    """Corpus: the trace sets (with Delete) and an import form (upload or a path on the server)."""
    if message := st.session_state.pop(keys.TRACES_MESSAGE, None):
        kind, text = message
        (st.success if kind == "ok" else st.warning if kind == "warn" else st.error)(markdown_escape(text))
    infos = [workspace.traces.info(name) for name in workspace.traces.names()]
    if infos:
        admin = current_role(workspace.settings) == "admin"
        st.dataframe(
            pd.DataFrame(
                [
                    {"trace set": i.name, "traces": i.traces, "candidates": i.candidates, "without text": i.no_text,
                     "format": i.format, **({"from": i.source} if admin else {})}  # a server path: admins only
                    for i in infos
                ]
            ),
            hide_index=True,
            width="stretch",
        )  # fmt: skip
        cols = st.columns([3, 1], vertical_alignment="bottom")
        target = cols[0].selectbox("Trace set", [i.name for i in infos], key="corpus.trace_delete_target")
        if cols[1].button("Delete", key="corpus.trace_delete"):
            _delete(workspace, target)
    with st.form("traces_import", border=True):
        st.caption(
            "Logged retrievals of your application: JSONL (one trace a line, see the README) or OpenInference spans."
        )
        upload, refused = None, False
        if has_role(workspace.settings, "admin"):
            upload = st.file_uploader("Trace file", type=["jsonl", "json", "ndjson"], key="corpus.trace_upload")
            refused = upload is not None and not checked_uploads([upload], workspace.settings.max_file_mb)
        else:
            st.caption(UPLOADS_FOR_ADMINS)  # no uploader: a viewer's files never reach the server
        path = st.text_input(
            "…or a path on the server", key="corpus.trace_path", placeholder="/var/log/rag/traces.jsonl"
        )
        left, right = st.columns(2)
        name = left.text_input("Trace set name", key="corpus.trace_name")
        form = right.selectbox("Format", TRACE_FORMATS, key="corpus.trace_format")
        if st.form_submit_button("Import traces", type="primary") and not refused:
            _import(workspace, upload, path.strip(), name.strip(), form)


def _delete(workspace: Workspace, name: str) -> None:
    try:
        require_role(workspace.settings, "admin", "Deleting a trace set")
        workspace.traces.delete(name)
    except RerankLensError as exc:
        st.session_state[keys.TRACES_MESSAGE] = ("error", str(exc))
    else:
        audit(workspace.settings.data_dir, "delete", name, "trace set")
        st.session_state[keys.TRACES_MESSAGE] = ("ok", f"Deleted trace set '{name}'.")
    st.rerun()


def _import(workspace: Workspace, upload: object, path: str, name: str, form: str) -> None:
    if not name or not (upload or path):
        st.error("Give a trace file (upload or path) and a name for the trace set.")
        return
    try:
        require_role(workspace.settings, "admin", "Importing traces")
        with tempfile.TemporaryDirectory(prefix="reranklens-traces-") as tmp:
            if upload is not None:
                file = Path(tmp) / Path(getattr(upload, "name", "traces.jsonl")).name
                file.write_bytes(upload.getvalue())  # type: ignore[attr-defined]
            else:
                file = check_ingest_file(
                    path, workspace.settings.ingest_roots, "Importing a trace file", "Upload the file instead."
                )
            records = read_openinference(file) if form == "openinference" else read_jsonl(file)
            with st.spinner("Importing traces…"):
                report = workspace.traces.import_traces(name, records, file.name if upload else str(file), form)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    imported(workspace, report)


def imported(workspace: Workspace, report: TraceImportReport) -> None:
    """Record the import in the audit trail and say what it brought in (and skipped) above the trace sets,
    after the rerun that lists it."""
    info = report.info
    # The audit table is shown to every visitor: the source (a server path or URL) is not in it.
    audit(workspace.settings.data_dir, "import traces", info.name, f"{info.format}, {info.traces} traces")
    text = f"Trace set '{info.name}': {info.traces} traces, {info.candidates} candidates"
    text += f" imported in {report.seconds:.1f} s."
    if report.skipped_count:
        text += f" Skipped {report.skipped_count} line(s): " + "; ".join(report.skipped)
    st.session_state[keys.TRACES_MESSAGE] = ("warn" if report.skipped_count else "ok", text)
    st.rerun()
