"""The Corpus page's "Attach" part: another application's Chroma collection, searched read-only.

The form's fields have session keys, so a refused attachment (one line) keeps what the person typed.
Metadata, names and warnings come from the other application's store: escaped before display. A typed
server must be an allowed host (``RERANKLENS_ATTACH_HOSTS``) and a typed directory inside
``RERANKLENS_INGEST_ROOTS``; where an attachment comes from is shown to admins only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.shared import keys
from components.shared.identity import audit, current_role, require_role
from reranklens.access.audit import attach_detail
from reranklens.access.hosts import ATTACH_HOSTS_VARIABLE, check_host
from reranklens.access.roots import check_ingest_folder
from reranklens.config import DEFAULT_EMBEDDER
from reranklens.errors import RerankLensError
from reranklens.retrieve.attach import is_server_source
from reranklens.retrieve.conventions import MetadataKeys
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace


def render_attach(workspace: Workspace) -> None:
    """The attached collections (with Detach) and the Attach form."""
    if message := st.session_state.pop(keys.ATTACH_MESSAGE, None):
        kind, text = message
        (st.success if kind == "ok" else st.warning if kind == "warn" else st.error)(markdown_escape(text))
    attached = workspace.attachments.all()
    if attached:
        admin = current_role(workspace.settings) == "admin"
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "collection": a.name,
                        **({"from": a.source} if admin else {}),  # a server path or address: admins only
                        "their name": a.collection,
                        "embedder": a.embedder,
                        "metadata": a.convention,
                    }
                    for a in attached.values()
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        cols = st.columns([3, 1], vertical_alignment="bottom")
        target = cols[0].selectbox("Attached collection", list(attached), key="corpus.detach_target")
        if cols[1].button("Detach", key="corpus.detach", help="Forget it here; its store is not touched"):
            _detach(workspace, target)
    with st.form("attach", border=True):
        st.caption(
            "Search the collection your application really uses, without re-ingesting it. RerankLens never writes "
            "to it (a directory is searched through a copy)."
        )
        source = st.text_input(
            "Chroma directory or server", key="corpus.attach_source", placeholder="/srv/app/chroma or http://host:8000"
        )
        left, right = st.columns(2)
        collection = left.text_input("Their collection", key="corpus.attach_collection")
        name = right.text_input("Name here (optional)", key="corpus.attach_name")
        embedder = st.text_input(
            "Embedder it was built with",
            value=DEFAULT_EMBEDDER,
            key="corpus.attach_embedder",
            help="A sentence-transformers name or directory, openai:MODEL, or chroma:default.",
        )
        with st.expander("Metadata keys (default: detected, LangChain and LlamaIndex are recognised)"):
            id_key = st.text_input("Document id key", key="corpus.attach_id_key")
            source_key = st.text_input("Source key", key="corpus.attach_source_key")
            heading_key = st.text_input("Heading key", key="corpus.attach_heading_key")
        if st.form_submit_button("Attach read-only", type="primary"):
            _attach(
                workspace,
                source,
                collection,
                name,
                embedder,
                MetadataKeys(id_key or None, source_key or None, heading_key or None),
            )


def _attach(
    workspace: Workspace, source: str, collection: str, name: str, embedder: str, metadata: MetadataKeys
) -> None:
    if not source.strip() or not collection.strip() or not embedder.strip():
        st.error("Give the directory or server, their collection's name and the embedder it was built with.")
        return
    try:
        require_role(workspace.settings, "admin", "Attaching a collection")
        _check_source(workspace, source.strip())
        with st.spinner("Attaching: copying the directory, checking the embedder…"):
            report = workspace.attach(
                source.strip(), collection.strip(), embedder.strip(), name.strip() or None, metadata
            )
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return
    a = report.attachment
    audit(workspace.settings.data_dir, "attach", a.name, attach_detail(a.collection, report.count))
    text = (
        f"Attached '{a.collection}' as '{a.name}' (read-only): {report.count} chunks, metadata {a.convention}; "
        f"probe: {report.probe_hits} of {report.probe_total} stored documents are their own nearest neighbour."
    )
    if report.warnings:
        text += " " + " ".join(report.warnings)
    st.session_state[keys.ATTACH_MESSAGE] = ("warn" if report.warnings else "ok", text)
    st.rerun()


def _check_source(workspace: Workspace, source: str) -> None:
    """A visitor may make the server connect only to allowed hosts and read only inside the ingest roots."""
    settings = workspace.settings
    if is_server_source(source):
        check_host(source, settings.attach_hosts, ATTACH_HOSTS_VARIABLE)
    else:
        check_ingest_folder(
            source, settings.ingest_roots, "Attaching a Chroma directory", "Attach its Chroma server instead."
        )


def _detach(workspace: Workspace, name: str) -> None:
    try:
        require_role(workspace.settings, "admin", "Detaching a collection")
        workspace.detach(name)
        audit(workspace.settings.data_dir, "detach", name)
    except RerankLensError as exc:
        st.session_state[keys.ATTACH_MESSAGE] = ("error", str(exc))
    else:
        st.session_state[keys.ATTACH_MESSAGE] = ("ok", f"Detached '{name}' (its store was not touched).")
    st.rerun()
