"""BEIR import on the real ADI collection (82 docs, 35 queries, 170 qrels lines) from ../shared."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import shared_collection

from reranklens.config import Settings
from reranklens.types import IngestReport
from reranklens.workspace import Workspace


@dataclass(frozen=True)
class Adi:
    folder: Path
    workspace: Workspace
    report: IngestReport
    corpus: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def adi(tmp_path_factory: pytest.TempPathFactory) -> Adi:
    folder = shared_collection("adi")
    workspace = Workspace(Settings(data_dir=tmp_path_factory.mktemp("adi") / "store"))
    report = workspace.ingest([folder], "adi")
    with (folder / "corpus.jsonl").open(encoding="utf-8") as lines:
        corpus = {str(r["_id"]): r for r in map(json.loads, lines)}
    return Adi(folder, workspace, report, corpus)


def test_one_document_per_non_empty_corpus_line(adi: Adi) -> None:
    non_empty = {
        doc_id for doc_id, r in adi.corpus.items() if (r.get("title") or "").strip() or (r.get("text") or "").strip()
    }
    assert len(adi.corpus) == 82
    chunks = adi.workspace.store.all_chunks("adi").chunks
    assert {c.doc_id for c in chunks} == non_empty == set(adi.corpus)  # doc_ids are the BEIR _ids
    assert adi.report.documents == len(non_empty)
    assert adi.workspace.store.info("adi").doc_count == len(non_empty)
    assert adi.workspace.store.info("adi").chunk_count == adi.report.chunks_total == len(chunks)


def test_chunks_are_slices_of_the_beir_text_under_the_title(adi: Adi) -> None:
    for chunk in adi.workspace.store.all_chunks("adi").chunks:
        record = adi.corpus[chunk.doc_id]
        text = (record.get("text") or "").strip() or record["title"].strip()
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert chunk.heading_path == ((record["title"].strip(),) if record["title"].strip() else ())
        assert chunk.token_count <= 200
        assert chunk.source == f"{adi.folder / 'corpus.jsonl'}#{chunk.doc_id}"


def test_golden_set_has_all_queries_and_judgements(adi: Adi) -> None:
    info = adi.workspace.golden.info("adi")
    assert (info.queries, info.judgements) == (35, 170)
    assert (adi.report.golden_set, adi.report.golden_queries, adi.report.golden_judgements) == ("adi", 35, 170)
    assert info.source == str(adi.folder)
    with (adi.folder / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = {str(r["_id"]): r["text"] for r in map(json.loads, lines)}
    assert adi.workspace.golden.queries("adi") == queries
    with (adi.folder / "qrels.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    expected: dict[str, dict[str, int]] = {}
    for qid, doc_id, grade in rows:
        expected.setdefault(qid, {})[doc_id] = int(grade)
    qrels = adi.workspace.golden.qrels("adi")
    assert qrels == expected
    assert {doc_id for targets in qrels.values() for doc_id in targets} <= set(adi.corpus)


def test_reimporting_adi_is_a_no_op_and_keeps_the_golden_set(adi: Adi) -> None:
    again = adi.workspace.ingest([adi.folder], "adi")
    assert (again.chunks_added, again.chunks_removed) == (0, 0)
    assert (again.golden_queries, again.golden_judgements) == (35, 170)
    assert adi.workspace.golden.names().count("adi") == 1


def test_adi_queries_find_judged_documents(adi: Adi) -> None:
    """A check of the whole path on real data (BEIR reader, chunking, MiniLM, Chroma, golden import):
    MiniLM finds a relevant document in the top 10 for 31 of the 35 ADI queries. Exact, so a change that
    loses even one (a dropped title, a truncated text, a mis-imported judgement) shows up here."""
    queries = adi.workspace.golden.queries("adi")
    qrels = adi.workspace.golden.qrels("adi")
    missed = []
    for qid, text in queries.items():
        top = {h.chunk.doc_id for h in adi.workspace.search(text, "adi", candidates=10).hits}
        if not top & {d for d, g in qrels[qid].items() if g > 0}:
            missed.append(qid)
    assert len(queries) == 35
    assert len(queries) - len(missed) == 31, f"missed {len(missed)}: {sorted(missed)}"
