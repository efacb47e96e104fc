"""Corpus: the collections, browsing their chunks, ingesting uploaded files or a server folder, deleting one,
and the audit trail of who changed what."""

import streamlit as st

from components.corpus.attach import render_attach
from components.corpus.collections import (
    ingest_controls,
    render_browser,
    render_collections,
    render_delete,
    render_report,
    run_ingest,
)
from components.corpus.connections import render_connections
from components.corpus.phoenix import render_phoenix_pull
from components.corpus.trace_sets import render_trace_sets
from components.shared import keys
from components.shared.frame import page_frame
from components.shared.identity import render_audit
from components.shared.resources import workspace_with_demo

page_frame("corpus")

workspace = workspace_with_demo()

st.subheader("Collections")
collections = render_collections(workspace)

st.subheader("Browse chunks")
render_browser(workspace, collections)

st.subheader("Ingest documents")
if report := st.session_state.pop(keys.CORPUS_REPORT, None):
    render_report(report)
# Attach another application's Chroma collection, import its logged retrievals.
with st.expander("🔗 Attach an existing Chroma collection (read-only)"):
    render_attach(workspace)
with st.expander("🔌 Connect a retriever (your application's live first stage)"):
    render_connections(workspace)
with st.expander("🧾 Traces: logged retrievals to replay"):
    render_trace_sets(workspace)
    render_phoenix_pull(workspace)

request = ingest_controls(workspace, collections)
if request is not None:
    st.session_state[keys.CORPUS_REPORT] = run_ingest(workspace, request)
    st.rerun()  # list the new chunks above and show the report

st.subheader("Delete a collection")
render_delete(workspace, collections)

st.subheader("Audit")
render_audit(workspace)  # who ingested, deleted, attached, trained, added a model or changed the default
