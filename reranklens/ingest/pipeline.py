"""Ingest files, folders and BEIR collections into a Chroma collection, idempotently.

Chunk ids derive from source and content, so ingestion is a set difference: chunks whose id
is already stored are skipped, chunks of re-ingested documents that no longer exist are removed.
That makes a second run a no-op, a changed file replace its old chunks, and an interrupted run
resumable (run it again). ``--rebuild`` builds into a temporary collection and swaps it in only
when complete, so a failed rebuild leaves the old collection intact.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reranklens.errors import (
    EmbedderMismatchError,
    InvalidInputError,
    NoDocumentsError,
    UnreadableFileError,
    display_path,
)
from reranklens.golden.beir import read_beir_judgements
from reranklens.ingest.chunking import ChunkingOptions, OffsetTokenizer, chunk_documents
from reranklens.ingest.readers import discover_files, is_beir_folder, read_beir_corpus, read_file
from reranklens.retrieve.store import VectorStore, validate_collection_name
from reranklens.types import Chunk, Document, Embedder, IngestReport

if TYPE_CHECKING:  # types only: the golden store's SQL layer is imported by whoever opens one
    from reranklens.golden.store import GoldenStore

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called with (chunks embedded so far, chunks to embed) after every batch."""
EMBED_BATCH = 256
ABANDONED_BUILD_S = 6 * 3600  # a rebuild running longer than this is surely dead


@dataclass
class _Inputs:
    documents: list[Document] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    beir_folders: list[Path] = field(default_factory=list)


def ingest(
    paths: Sequence[Path],
    collection: str,
    store: VectorStore,
    embedder: Embedder,
    golden: GoldenStore | None = None,
    options: ChunkingOptions | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    tokenizer: OffsetTokenizer | None = None,
    max_file_mb: float | None = None,
) -> IngestReport:
    """Read ``paths``, chunk, embed and store them in ``collection``.

    Unreadable files (binary, not UTF-8, archives, over ``max_file_mb`` (default: the store's
    ``Settings.max_file_mb``), symlinks leaving the folder, ...) and bad BEIR lines are skipped and
    listed in ``report.skipped``, one line each; the rest is ingested. When nothing at all can be
    read, ``NoDocumentsError`` is raised before anything is written. BEIR folders also import their
    queries and qrels as a golden set named after the folder.

    Crash safety: chunks are written in batches with ids derived from their content, and the
    collection's ``revision`` / ``doc_count`` are written last, so a run killed at any point
    (even SIGKILL) and started again ends with exactly the chunks of an uninterrupted run.
    """
    started = time.perf_counter()
    validate_collection_name(collection)
    options = options or ChunkingOptions()
    if max_file_mb is None:
        max_file_mb = getattr(store.settings, "max_file_mb", None)
    inputs = _gather(paths, max_file_mb)
    if not inputs.documents:
        reasons = "; ".join(inputs.skipped[:3]) or "no files found"
        raise NoDocumentsError(f"Nothing to ingest from {', '.join(map(str, paths))}: {reasons}")

    chunks_by_doc = {
        doc.doc_id: chunks
        for doc, chunks in zip(inputs.documents, chunk_documents(inputs.documents, options, tokenizer), strict=True)
    }
    doc_hashes = {doc.doc_id: _doc_hash(doc, options) for doc in inputs.documents}
    all_chunks = [chunk for chunks in chunks_by_doc.values() for chunk in chunks]

    target = collection
    created = rebuild or not store.exists(collection)
    if rebuild:
        _drop_abandoned_builds(store, collection)
    if created:
        target = f"{collection}.building-{uuid.uuid4().hex[:8]}" if rebuild else collection
        extra: dict[str, int | float | str] = {
            "chunk_tokens": options.max_tokens,
            "chunk_overlap": options.overlap_tokens,
            # Also part of the embedder's name (NAME@int8), which is what mismatches are checked on.
            "embedder_precision": str(getattr(embedder, "precision", "fp32")),
        }
        if target != collection:
            extra["build_started"] = time.time()
        store.create(target, embedder.name, extra)
    else:
        built_with = store.metadata(collection).get("embedder")
        if built_with != embedder.name:
            raise EmbedderMismatchError(collection, str(built_with), embedder.name)

    stored = store.all_chunks(target)
    # A run killed after its last batch but before the bookkeeping below left no doc_count.
    finished = created or "doc_count" in store.metadata(target)
    stored_ids = {c.chunk_id for c in stored.chunks}
    new_ids = {c.chunk_id for c in all_chunks}
    to_add = [c for c in all_chunks if c.chunk_id not in stored_ids]
    to_remove = [c.chunk_id for c in stored.chunks if c.doc_id in chunks_by_doc and c.chunk_id not in new_ids]

    try:
        _embed_and_add(store, target, embedder, to_add, doc_hashes, progress)
    except BaseException:
        # A collection this run created never stays half-built (an existing one is resumable).
        if created:
            store.delete(target)
        raise
    if to_remove:
        store.remove(target, to_remove)
    if to_add or to_remove or not finished:
        doc_count = len(set(stored.doc_hashes) | set(chunks_by_doc))
        store.update_metadata(target, revision=uuid.uuid4().hex, doc_count=doc_count)
    if target != collection:
        if store.exists(collection):
            store.delete(collection)
        store.rename(target, collection)

    report = IngestReport(
        collection=collection,
        documents=len(inputs.documents),
        chunks_total=len(all_chunks),
        chunks_added=len(to_add),
        chunks_removed=len(to_remove),
        seconds=time.perf_counter() - started,
        skipped=tuple(inputs.skipped),
    )
    if golden is not None:
        for folder in inputs.beir_folders:
            report = _import_beir_golden(folder, golden, report)
    return report


def _drop_abandoned_builds(store: VectorStore, collection: str) -> None:
    """A ``--rebuild`` killed before its swap leaves ``NAME.building-*`` behind: drop it. One started
    less than ``ABANDONED_BUILD_S`` ago may be another person's rebuild still running: keep it."""
    for name in store.names():
        if not name.startswith(f"{collection}.building-"):
            continue
        started = store.metadata(name).get("build_started")
        if isinstance(started, int | float) and time.time() - started < ABANDONED_BUILD_S:
            log.info("keeping %s: a rebuild started %.0f s ago may still be running", name, time.time() - started)
        else:
            log.warning("dropping %s, left by an interrupted --rebuild", name)
            store.delete(name)


def _gather(paths: Sequence[Path], max_file_mb: float | None = None) -> _Inputs:
    inputs = _Inputs()
    seen: dict[str, str] = {}
    for path in paths:
        if not path.exists():
            raise UnreadableFileError(display_path(path), "does not exist")
        if is_beir_folder(path):
            inputs.beir_folders.append(path)
            documents = list(read_beir_corpus(path, inputs.skipped))
        else:
            files, skipped = discover_files(path, max_file_mb)
            inputs.skipped.extend(skipped)
            if path.is_dir() and not files:
                inputs.skipped.append(f"{display_path(path)}: no .md, .txt, .html or .pdf files in this folder")
            documents = []
            for source in files:
                try:
                    documents.append(read_file(source))
                except UnreadableFileError as exc:
                    inputs.skipped.append(str(exc))
        for document in documents:
            if document.doc_id in seen:
                raise InvalidInputError(
                    f"Two inputs give the same document id '{document.doc_id}' ({seen[document.doc_id]} and "
                    f"{document.source}): ingest their common parent folder instead."
                )
            seen[document.doc_id] = document.source
        inputs.documents.extend(documents)
    return inputs


def _embed_and_add(
    store: VectorStore,
    collection: str,
    embedder: Embedder,
    chunks: list[Chunk],
    doc_hashes: dict[str, str],
    progress: ProgressCallback | None,
) -> None:
    # Longest first: batches of similar length waste less padding, and the ETA settles early.
    ordered = sorted(chunks, key=lambda c: -c.token_count)
    if progress:
        progress(0, len(ordered))
    for start in range(0, len(ordered), EMBED_BATCH):
        batch = ordered[start : start + EMBED_BATCH]
        vectors = embedder.embed_documents([c.passage for c in batch])
        store.add(collection, batch, vectors, doc_hashes)
        if progress:
            progress(start + len(batch), len(ordered))


def _import_beir_golden(folder: Path, golden: GoldenStore, report: IngestReport) -> IngestReport:
    """Queries and qrels of a BEIR folder as a golden set; bad lines are skipped and reported."""
    problems: list[str] = []
    try:
        judgements = read_beir_judgements(folder, problems)
    except UnreadableFileError as exc:  # a whole file unreadable (not UTF-8): the corpus is in, report it
        return replace(report, skipped=(*report.skipped, *problems, f"{exc}; golden set not imported"))
    if judgements is None:
        return report
    queries, qrels = judgements
    skipped = report.skipped + tuple(problems)
    if not queries:
        missing = f"{display_path(folder)}: no usable queries, golden set not imported"
        return replace(report, skipped=(*skipped, missing))
    wanted = folder.resolve().name
    name = _free_golden_name(golden, wanted, queries, qrels)
    if name == wanted and wanted in golden.names():
        info = golden.info(wanted)  # the same import again: nothing to write
    else:
        info = golden.replace_set(name, queries, qrels, level="doc", source=str(folder))
    return replace(
        report,
        golden_set=info.name,
        golden_renamed_from=wanted if name != wanted else None,
        golden_queries=info.queries,
        golden_judgements=info.judgements,
        skipped=skipped,
    )


def _free_golden_name(
    golden: GoldenStore, wanted: str, queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> str:
    """``wanted`` when no set has that name or the stored set is exactly this import (re-ingesting the
    folder is a no-op); otherwise the first free ``wanted-2``, ``wanted-3``, ... An existing set (with
    its people's labels) is never replaced by an ingest."""
    names = set(golden.names())
    if wanted not in names or _same_import(golden, wanted, queries, qrels):
        return wanted
    number = 2
    while f"{wanted}-{number}" in names and not _same_import(golden, f"{wanted}-{number}", queries, qrels):
        number += 1
    return f"{wanted}-{number}"


def _same_import(golden: GoldenStore, name: str, queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> bool:
    """The stored set holds exactly these queries and imported document grades, and nothing else."""
    if golden.queries(name) != queries:
        return False
    judgements = golden.judgements(name)
    wanted = {(qid, doc, grade) for qid, targets in qrels.items() for doc, grade in targets.items()}
    stored = {(j.query_id, j.target_id, j.grade) for j in judgements if j.level == "doc" and j.origin == "import"}
    return len(judgements) == len(wanted) and stored == wanted


def _doc_hash(document: Document, options: ChunkingOptions) -> str:
    key = f"{options.max_tokens}/{options.overlap_tokens}\x1f{document.title}\x1f{document.text}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]
