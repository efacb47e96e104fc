"""The Corpus page's parts: the collections table and the ingest controls (uploaded files or a folder
on the server, into a new or an existing collection, with a local or an OpenAI embedder).

Every control has a session key, so an error (shown as one line) never clears what the person typed.
Uploaded files are written to a temporary folder under their own base names, which become their
document ids: uploading a changed file again replaces its chunks, an unchanged one adds nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from components.shared import keys
from components.shared.identity import audit, has_role, require_role
from components.shared.resources import show_error
from components.shared.uploads import UPLOADS_FOR_ADMINS, checked_uploads
from reranklens.access.limits import check_uploads
from reranklens.access.roots import ROOTS_VARIABLE, check_ingest_folder
from reranklens.config import DEFAULT_EMBEDDER
from reranklens.errors import InvalidInputError, RerankLensError
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.ingest.embed import OPENAI_PREFIX, canonical_embedder_name
from reranklens.types import IngestReport
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

# Session-state keys of the browse and delete parts (the ingest ones are in components.shared.keys).
BROWSE_COLLECTION = "corpus.browse_collection"
BROWSE_PAGE = "corpus.browse_page"
DELETE_COLLECTION = "corpus.delete_collection"
DELETE_ASKED = "corpus.delete_asked"  # the collection whose deletion waits for a confirmation
DELETED = "corpus.deleted"
PAGE_SIZE = 20

NEW_COLLECTION = "➕ New collection"
UPLOAD, FOLDER = "Upload files", "Folder on the server"
UPLOAD_TYPES = ["md", "markdown", "txt", "html", "htm", "pdf"]
OPENAI_EMBEDDERS = ("openai:text-embedding-3-small", "openai:text-embedding-3-large")
NO_KEY_EMBEDDINGS = (
    "OpenAI embeddings need `OPENAI_API_KEY` (and `OPENAI_BASE_URL` for a compatible server) set before the app "
    "starts. Pick the local embedder, or set the key and restart."
)


@dataclass(frozen=True)
class IngestRequest:
    collection: str
    embedder: str | None  # None: the existing collection's own embedder
    options: ChunkingOptions
    rebuild: bool
    folder: Path | None = None
    uploads: tuple[UploadedFile, ...] = ()


def render_collections(workspace: Workspace) -> list[str]:
    """The collections as a table; returns their names."""
    try:
        infos = workspace.collections()
    except RerankLensError as exc:
        show_error(exc)
    if not infos:
        st.caption("No collections yet: ingest some documents below.")
        return []
    st.dataframe(
        pd.DataFrame(
            [
                {"collection": i.name, "embedder": i.embedder, "chunks": i.chunk_count, "documents": i.doc_count}
                for i in infos
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    return [i.name for i in infos]


def render_browser(workspace: Workspace, collections: list[str]) -> None:
    """A collection's chunks, a page at a time; every field shown as plain text (a table never renders
    Markdown or HTML)."""
    if not collections:
        return
    left, right = st.columns([3, 1])
    name = left.selectbox("Collection to browse", collections, key=BROWSE_COLLECTION)
    page = right.number_input("Page", min_value=1, value=1, step=1, key=BROWSE_PAGE)
    try:
        chunks, pages = workspace.browse_chunks(name, int(page), PAGE_SIZE)
    except RerankLensError as exc:
        show_error(exc)
    shown = min(int(page), pages)
    st.caption(f"Page {shown} of {pages} · {PAGE_SIZE} chunks a page.")
    rows = [
        {
            "#": (shown - 1) * PAGE_SIZE + i,
            "document": c.doc_id,
            "text": c.text,
            "heading": " › ".join(c.heading_path),
            "tokens": c.token_count,
            "chunk id": c.chunk_id,
        }
        for i, c in enumerate(chunks, start=1)
    ]
    st.dataframe(
        pd.DataFrame(rows, columns=["#", "document", "text", "heading", "tokens", "chunk id"]),
        hide_index=True,
        width="stretch",
        column_config={"text": st.column_config.TextColumn("text", width="large")},
    )


def render_delete(workspace: Workspace, collections: list[str]) -> None:
    """Delete a collection, after the person confirms it by name. Golden-set labels are kept."""
    if deleted := st.session_state.pop(DELETED, None):
        st.success(f"Collection '{markdown_escape(deleted)}' deleted.", icon="🗑️")
    if not collections:
        return
    name = st.selectbox("Collection to delete", collections, key=DELETE_COLLECTION)
    if st.session_state.get(DELETE_ASKED) != name:
        if st.button("Delete this collection…", key="corpus.delete"):
            st.session_state[DELETE_ASKED] = name
            st.rerun()
        return
    st.warning(
        f"Delete the collection '{markdown_escape(name)}' and all its chunks? This cannot be undone (ingest the "
        "documents again to get it back). Golden sets and their labels are kept.",
        icon="⚠️",
    )
    yes, no = st.columns(2)
    if yes.button(f"Yes, delete '{markdown_escape(name)}'", type="primary", key="corpus.delete_confirm"):
        try:
            require_role(workspace.settings, "admin", "Deleting a collection")
            workspace.delete_collection(name)
        except RerankLensError as exc:
            show_error(exc)
        finally:
            st.session_state.pop(DELETE_ASKED, None)
        audit(workspace.settings.data_dir, "delete", name)
        for key in (DELETE_COLLECTION, BROWSE_COLLECTION, keys.CORPUS_TARGET):
            if st.session_state.get(key) == name:
                st.session_state.pop(key)
        st.session_state[DELETED] = name
        st.rerun()
    if no.button("Cancel", key="corpus.delete_cancel"):
        st.session_state.pop(DELETE_ASKED, None)
        st.rerun()


def embedder_options(workspace: Workspace) -> list[str]:
    """The configured embedder, the local default, then the OpenAI ones (no duplicates)."""
    names = [canonical_embedder_name(workspace.settings.embedder), DEFAULT_EMBEDDER, *OPENAI_EMBEDDERS]
    return list(dict.fromkeys(names))


def ingest_controls(workspace: Workspace, collections: list[str]) -> IngestRequest | None:
    """The ingest controls; returns what to ingest when the button is clicked and the input is complete."""
    settings = workspace.settings
    target = st.selectbox("Into", [NEW_COLLECTION, *collections], key=keys.CORPUS_TARGET)
    existing = target != NEW_COLLECTION
    if existing:
        name = target
        embedder = workspace.collection_embedder_name(name)
        # Collection metadata is not ours to trust: escaped text, never inside a code span it could close.
        st.caption(
            f"Embedder: {markdown_escape(embedder)} (fixed by the collection; re-ingest with a new name to change it)."
        )
        rebuild = st.checkbox("Rebuild: start the collection over (the old one stays until the new one is done)")
    else:
        name = st.text_input("New collection name", key=keys.CORPUS_NEW_NAME, placeholder="mydocs").strip()
        embedder = st.selectbox(
            "Embedder",
            embedder_options(workspace),
            key=keys.CORPUS_EMBEDDER,
            help="The configured embedder (RERANKLENS_EMBEDDER), the local default, or the OpenAI embeddings API.",
        )
        rebuild = False
    needs_key = canonical_embedder_name(embedder or "").startswith(OPENAI_PREFIX) and not settings.openai_api_key
    if needs_key:
        st.info(NO_KEY_EMBEDDINGS, icon="🔑")

    source = st.radio("Documents", [UPLOAD, FOLDER], key=keys.CORPUS_SOURCE, horizontal=True)
    uploads: list[UploadedFile] = []
    folder = ""
    if source == UPLOAD and not has_role(settings, "admin"):
        st.caption(UPLOADS_FOR_ADMINS)  # no uploader: a viewer's files never reach the server
    elif source == UPLOAD:
        uploads = st.file_uploader("Files (.md .txt .html .pdf)", type=UPLOAD_TYPES, accept_multiple_files=True) or []
        uploads = checked_uploads(uploads, settings.max_file_mb)
    else:
        if not settings.ingest_roots:
            st.info(
                f"Ingesting a folder on the server is off: the server's owner can allow folders with "
                f"`{ROOTS_VARIABLE}`. Upload the files instead.",
                icon="🔒",
            )
        else:
            roots = ", ".join(markdown_escape(str(root)) for root in settings.ingest_roots)
            st.caption(f"Allowed folders (and their subfolders): {roots}")
        folder = st.text_input(
            "Folder path",
            key=keys.CORPUS_FOLDER,
            placeholder="/data/docs",
            help="Read on the machine running RerankLens (folders are searched recursively; BEIR folders work too).",
        ).strip()
    with st.expander("Chunking"):
        tokens = st.number_input("Chunk size (word-piece tokens)", 20, 2000, settings.chunk_tokens, step=10)
        overlap = st.number_input("Overlap (tokens)", 0, 1000, settings.chunk_overlap, step=10)
    ready = bool(name) and (bool(uploads) if source == UPLOAD else bool(folder)) and not needs_key
    if not st.button("Ingest", type="primary", disabled=not ready, key="corpus.ingest"):
        return None
    return IngestRequest(
        collection=name,
        embedder=None if existing else embedder,
        options=ChunkingOptions(int(tokens), int(overlap)),
        rebuild=rebuild,
        folder=Path(folder) if source == FOLDER else None,
        uploads=tuple(uploads),
    )


def run_ingest(workspace: Workspace, request: IngestRequest) -> IngestReport:
    """Ingest with a progress bar; a user-fixable problem is shown as one line and stops the page."""
    bar = st.progress(0.0, text="Reading documents…")

    def update(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"Embedding chunks: {done}/{total}")

    try:
        require_role(workspace.settings, "admin", "Ingesting documents")
        if request.folder is not None:
            # Resolved and checked here, before anything is read: symlinks and '..' cannot leave a root.
            folder = check_ingest_folder(request.folder, workspace.settings.ingest_roots)
            report = workspace.ingest(
                [folder], request.collection, request.embedder, request.options, request.rebuild, update
            )
        else:
            # Count and sizes come from the browser's metadata: checked before any file is read.
            check_uploads([upload.size for upload in request.uploads], workspace.settings.max_file_mb)
            with tempfile.TemporaryDirectory(prefix="reranklens-upload-") as tmp:
                root = Path(tmp)
                for upload in request.uploads:
                    target = root / _upload_name(upload.name)
                    if target.exists():
                        raise InvalidInputError(f"Two uploaded files are named '{target.name}': rename one.")
                    target.write_bytes(upload.getvalue())
                report = workspace.ingest(
                    [root], request.collection, request.embedder, request.options, request.rebuild, update
                )
    except RerankLensError as exc:
        bar.empty()
        show_error(exc)
    bar.empty()
    source = f"folder {request.folder}" if request.folder is not None else f"{len(request.uploads)} uploaded file(s)"
    audit(workspace.settings.data_dir, "ingest", request.collection, f"{source}: {report.chunks_added} chunks added")
    return report


def render_report(report: IngestReport) -> None:
    st.success(
        f"Collection '{report.collection}': {report.documents} documents, {report.chunks_total} chunks "
        f"({report.chunks_added} added, {report.chunks_removed} removed) in {report.seconds:.1f} s.",
        icon="✅",
    )
    if report.golden_set:
        st.caption(
            f"Golden set '{markdown_escape(report.golden_set)}': {report.golden_queries} queries, "
            f"{report.golden_judgements} judgements imported."
        )
    if report.golden_renamed_from:
        st.info(
            f"A different golden set '{markdown_escape(report.golden_renamed_from)}' already exists and was kept "
            f"(its labels are untouched): imported as '{markdown_escape(report.golden_set or '')}'.",
            icon="ℹ️",
        )
    if report.skipped:
        st.warning(f"{len(report.skipped)} file(s) skipped:")
        st.text("\n".join(report.skipped))


def _upload_name(name: str) -> str:
    """The base name of an uploaded file (a browser may send a path); never empty or hidden."""
    base = Path(name.replace("\\", "/")).name.strip()
    if not base or base.startswith("."):
        raise InvalidInputError(f"Cannot use the uploaded file name {name!r}: rename the file.")
    return base
