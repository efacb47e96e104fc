"""Trace sets in the app: import and list them (Corpus), replay one logged retrieval (Explore: the
logged ranking before, reranked after, with the logged answer), and grade its candidates (Label).

Queries, candidate texts and answers come from another application's log: they are escaped before
display (``markdown_escape``, or the escaped card HTML of ``reranklens.views.render``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from components import keys
from components.explore_render import render_columns, render_first_stage, render_summary
from components.identity import audit, require_role
from components.label_render import render_grading, render_sheet_summary
from reranklens.errors import InvalidInputError, ModelUnavailableError, RerankLensError
from reranklens.retrieve.openinference import read_openinference
from reranklens.retrieve.traces import TRACE_FORMATS, TraceImportReport, read_jsonl
from reranklens.views.explore import ExploreView
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

TRACE_CHOICES = 200  # traces offered in the picker (the first ones in file order)


def render_trace_sets(workspace: Workspace) -> None:
    """Corpus: the trace sets (with Delete) and an import form (upload or a path on the server)."""
    if message := st.session_state.pop(keys.TRACES_MESSAGE, None):
        kind, text = message
        (st.success if kind == "ok" else st.warning if kind == "warn" else st.error)(markdown_escape(text))
    infos = [workspace.traces.info(name) for name in workspace.traces.names()]
    if infos:
        st.dataframe(
            pd.DataFrame(
                [
                    {"trace set": i.name, "traces": i.traces, "candidates": i.candidates, "without text": i.no_text,
                     "format": i.format, "from": i.source}
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
        upload = st.file_uploader("Trace file", type=["jsonl", "json", "ndjson"], key="corpus.trace_upload")
        path = st.text_input(
            "…or a path on the server", key="corpus.trace_path", placeholder="/var/log/rag/traces.jsonl"
        )
        left, right = st.columns(2)
        name = left.text_input("Trace set name", key="corpus.trace_name")
        form = right.selectbox("Format", TRACE_FORMATS, key="corpus.trace_format")
        if st.form_submit_button("Import traces", type="primary"):
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
                file = Path(path).expanduser()
                if not file.is_file():
                    raise InvalidInputError(f"{path}: no such file on the server.")
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
    audit(workspace.settings.data_dir, "import traces", info.name, info.source)
    text = f"Trace set '{info.name}': {info.traces} traces, {info.candidates} candidates"
    text += f" imported in {report.seconds:.1f} s."
    if report.skipped_count:
        text += f" Skipped {report.skipped_count} line(s): " + "; ".join(report.skipped)
    st.session_state[keys.TRACES_MESSAGE] = ("warn" if report.skipped_count else "ok", text)
    st.rerun()


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


def _reranker(workspace: Workspace) -> str:
    return str(st.session_state.get(keys.RERANKER) or workspace.settings.reranker)


def _trace_view(workspace: Workspace, set_name: str, trace_id: str, k: int) -> ExploreView | None:
    """The replayed view; without a cross-encoder, the logged ranking alone (and why)."""
    search = workspace.trace_search(set_name, trace_id)
    try:
        view, _ = workspace.trace_view(set_name, trace_id, k, _reranker(workspace))
    except ModelUnavailableError as exc:
        st.warning(f"No cross-encoder available: the logged ranking alone. {markdown_escape(str(exc))}", icon="🧭")
        render_first_stage(search, k, _reranker(workspace))
        return None
    return view


def render_trace_explore(workspace: Workspace, k: int = 3) -> bool:
    """Explore for a picked trace: True when one was shown (the page stops there)."""
    picked = trace_picker(workspace)
    if picked is None:
        return False
    set_name, trace_id = picked
    try:
        trace = workspace.traces.get(set_name, trace_id)
        _render_query(set_name, trace_id, trace.query)
        with st.spinner("Reranking the logged candidates…"):
            view = _trace_view(workspace, set_name, trace_id, k)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return True
    if view is not None:
        render_summary(view)
    _render_answer(trace.answer, [c.id for c in trace.candidates[:k]], view)
    if view is not None:
        render_columns(view)
    return True


def _render_query(set_name: str, trace_id: str, query: str) -> None:
    where = f"{markdown_escape(set_name)} · {markdown_escape(trace_id)}"
    st.markdown(f"**Logged query** ({where}): {markdown_escape(query)}")


def _render_answer(answer: str | None, top_ids: list[str], view: ExploreView | None) -> None:
    with st.container(border=True):
        st.markdown("**Logged answer**")
        if not answer:
            st.caption("The log holds no answer for this trace.")
            return
        st.text(answer)
        moved = ""
        if view is not None:
            after = {row.chunk.chunk_id.split("#")[0]: row.right_rank for row in view.rows}
            moved = " · ".join(
                f"{markdown_escape(i)} → {'not reranked' if after.get(i) is None else f'#{after[i]} after reranking'}"
                for i in top_ids
            )
        st.caption(
            f"It rests on the logged top-{len(top_ids)}: {moved or ', '.join(markdown_escape(i) for i in top_ids)}"
        )


def render_trace_label(workspace: Workspace, golden_set: str, who: str, all_candidates: bool, k: int = 3) -> bool:
    """Label for a picked trace: grade its candidates (keyed on logged id + text hash). True when shown."""
    picked = trace_picker(workspace)
    if picked is None:
        return False
    set_name, trace_id = picked
    if not golden_set:
        st.info("Pick or name a golden set in the sidebar to grade this trace.")
        return True
    try:
        view, _ = workspace.trace_view(set_name, trace_id, k, _reranker(workspace))
        sheet = workspace.label_sheet(view, golden_set)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return True
    _render_query(set_name, trace_id, view.query)
    render_sheet_summary(sheet, k)
    shown = [c for c in sheet.candidates if all_candidates or c.in_top_k]
    st.caption(f"{view.left_title} vs {view.right_title}: {len(shown)} shown. Click a grade to save it.")
    render_grading(shown, workspace.golden, golden_set, view.query, k, who)
    return True
