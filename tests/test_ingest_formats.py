"""Ingestion of every supported input: markdown, text, HTML, PDF and a BEIR folder.

One workspace per module ingests the hand-written fixtures in ``tests/fixtures/engine/docs``
plus a PDF generated here with reportlab, then each test checks what the store holds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reranklens.config import Settings
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.ingest.readers import SourceFile, read_file
from reranklens.types import Chunk, IngestReport
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
PDF_SENTENCE = "The lighthouse keeper recorded seventeen storms in the winter logbook."
COLLECTION = "formats"
BEIR_COLLECTION = "tinybeir"
BEIR_CORPUS = [
    {"_id": "doc-1", "title": "Glacier retreat", "text": "Alpine glaciers lost a third of their ice since 1980."},
    {"_id": "doc-2", "title": "", "text": "Honeybees communicate the direction of flowers with a waggle dance."},
    {"_id": "doc-3", "title": "Volcanic soils are unusually fertile", "text": ""},
    {"_id": "doc-4", "title": "", "text": "   "},
]
BEIR_QUERIES = [{"_id": "q1", "text": "how do bees find flowers"}, {"_id": "q2", "text": "glacier ice loss"}]
BEIR_QRELS = [("q1", "doc-2", 1), ("q2", "doc-1", 2), ("q2", "doc-3", 0)]


def write_pdf(path: Path, lines: list[str]) -> None:
    """A real one-page PDF with text drawn by reportlab (extractable by pypdf)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = 780
    for line in lines:
        pdf.drawString(72, y, line)
        y -= 18
    pdf.showPage()
    pdf.save()


def write_beir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in BEIR_CORPUS), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in BEIR_QUERIES), encoding="utf-8")
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q, d, g in BEIR_QRELS]
    (folder / "qrels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Ingested:
    workspace: Workspace
    docs: Path
    report: IngestReport
    beir: Path
    beir_report: IngestReport

    def chunks(self, collection: str = COLLECTION) -> tuple[Chunk, ...]:
        return self.workspace.store.all_chunks(collection).chunks

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return sorted((c for c in self.chunks() if c.doc_id == doc_id), key=lambda c: c.position)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    root = tmp_path_factory.mktemp("formats")
    docs = root / "docs"
    shutil.copytree(FIXTURE_DOCS, docs)
    write_pdf(docs / "report.pdf", ["Annual maintenance report", PDF_SENTENCE, "End of report."])
    beir = write_beir(root / "tiny-beir")
    workspace = Workspace(Settings(data_dir=root / "store"))
    report = workspace.ingest([docs], COLLECTION)
    beir_report = workspace.ingest([beir], BEIR_COLLECTION)
    yield Ingested(workspace, docs, report, beir, beir_report)


def source_text(ingested: Ingested, doc_id: str) -> str:
    """The text the chunker saw: the file itself for md/txt, the extracted text for html/pdf."""
    path = ingested.docs / doc_id
    if path.suffix in {".md", ".txt"}:
        return path.read_text(encoding="utf-8")
    return read_file(SourceFile(path, doc_id)).text


def test_every_format_in_the_folder_becomes_a_document(ingested: Ingested) -> None:
    assert ingested.report.documents == 4
    assert ingested.report.skipped == ()
    assert {c.doc_id for c in ingested.chunks()} == {"guide.md", "notes.txt", "page.html", "report.pdf"}
    info = ingested.workspace.store.info(COLLECTION)
    assert info.chunk_count == ingested.report.chunks_total == len(ingested.chunks())
    assert info.doc_count == 4
    assert info.embedder == "sentence-transformers/all-MiniLM-L6-v2"


def test_markdown_chunks_record_their_heading_path(ingested: Ingested) -> None:
    by_text = {c.text.split("\n")[0]: c.heading_path for c in ingested.chunks_of("guide.md")}
    assert by_text["Welcome to the Orbital Console guide. It explains installation and account recovery."] == ("Guide",)
    assert by_text['To reset your password, open Settings and choose "Forgot password". A reset link'] == (
        "Guide",
        "Reset",
    )
    assert by_text["On the mobile app, tap your avatar, then Security, then Reset password."] == (
        "Guide",
        "Reset",
        "Reset on mobile",
    )
    assert by_text["Remove the application folder and delete the cache directory."] == ("Guide", "Uninstall")


def test_markdown_comment_inside_code_fence_is_not_a_heading(ingested: Ingested) -> None:
    chunks = ingested.chunks_of("guide.md")
    fenced = [c for c in chunks if "orbital reset --user alice" in c.text]
    assert len(fenced) == 1
    assert "# this line is a shell comment" in fenced[0].text
    assert fenced[0].heading_path == ("Guide", "Reset", "Reset on mobile")
    assert all("this line is a shell comment" not in part for c in chunks for part in c.heading_path)


def test_markdown_section_is_searchable_with_its_heading(ingested: Ingested) -> None:
    result = ingested.workspace.search("how do I reset my password", COLLECTION, candidates=3)
    top = result.hits[0].chunk
    assert top.doc_id == "guide.md"
    assert top.heading_path[:2] == ("Guide", "Reset")
    assert top.passage.startswith("Guide > Reset")


def test_text_file_is_one_headingless_document(ingested: Ingested) -> None:
    chunks = ingested.chunks_of("notes.txt")
    assert chunks
    assert all(c.heading_path == () for c in chunks)
    assert "quokka colony on the western ridge" in " ".join(c.text for c in chunks)
    hits = ingested.workspace.search("quokka", COLLECTION, mode="bm25", candidates=5).hits
    assert [h.chunk.doc_id for h in hits] == ["notes.txt"]


def test_html_uses_title_and_drops_script_and_style(ingested: Ingested) -> None:
    chunks = ingested.chunks_of("page.html")
    text = " ".join(c.text for c in chunks)
    assert "Fit the leather jesses before the first flight" in text
    assert "A kestrel & its handler" in text  # entities decoded
    for marker in ("scriptmarker", "tracking pixel", "stylemarker", "crimson", "noscriptmarker", "<p>"):
        assert marker not in text
    assert all(c.heading_path == ("Kestrel Falconry Handbook",) for c in chunks)
    # The title is a heading, not body text: it is not duplicated into the chunk text.
    assert "Kestrel Falconry Handbook" not in text
    for marker in ("scriptmarker", "crimson"):
        assert ingested.workspace.search(marker, COLLECTION, mode="bm25").hits == ()


def test_pdf_sentence_is_extracted_and_searchable(ingested: Ingested) -> None:
    chunks = ingested.chunks_of("report.pdf")
    assert PDF_SENTENCE in " ".join(c.text for c in chunks)
    vector = ingested.workspace.search("how many storms did the lighthouse keeper record", COLLECTION, candidates=4)
    assert vector.hits[0].chunk.doc_id == "report.pdf"
    assert PDF_SENTENCE in vector.hits[0].chunk.text
    bm25 = ingested.workspace.search("lighthouse logbook", COLLECTION, mode="bm25")
    assert [h.chunk.doc_id for h in bm25.hits] == ["report.pdf"]


@pytest.mark.parametrize("doc_id", ["guide.md", "notes.txt", "page.html", "report.pdf"])
def test_chunk_text_is_the_source_slice(ingested: Ingested, doc_id: str) -> None:
    text = source_text(ingested, doc_id)
    chunks = ingested.chunks_of(doc_id)
    assert chunks
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert chunk.text.strip() == chunk.text
        assert 0 < chunk.token_count <= 200
        assert chunk.source == str(ingested.docs / doc_id)


def test_beir_folder_keeps_ids_and_skips_empty_documents(ingested: Ingested) -> None:
    chunks = ingested.chunks(BEIR_COLLECTION)
    by_doc = {c.doc_id: c for c in chunks}
    assert set(by_doc) == {"doc-1", "doc-2", "doc-3"}  # doc-4 has neither title nor text
    assert len(chunks) == 3
    assert by_doc["doc-1"].text == BEIR_CORPUS[0]["text"]
    assert by_doc["doc-1"].heading_path == ("Glacier retreat",)
    assert by_doc["doc-2"].heading_path == ()
    # A title-only document is searchable through its title.
    assert by_doc["doc-3"].text == "Volcanic soils are unusually fertile"
    assert ingested.workspace.store.info(BEIR_COLLECTION).doc_count == 3


def test_beir_folder_imports_its_golden_set(ingested: Ingested) -> None:
    report = ingested.beir_report
    assert (report.golden_set, report.golden_queries, report.golden_judgements) == ("tiny-beir", 2, 3)
    golden = ingested.workspace.golden
    assert golden.queries("tiny-beir") == {"q1": "how do bees find flowers", "q2": "glacier ice loss"}
    assert golden.qrels("tiny-beir") == {"q1": {"doc-2": 1}, "q2": {"doc-1": 2, "doc-3": 0}}


def test_beir_document_answers_its_query(ingested: Ingested) -> None:
    hits = ingested.workspace.search("how do bees find flowers", BEIR_COLLECTION, candidates=3).hits
    assert hits[0].chunk.doc_id == "doc-2"


def test_long_document_gives_several_overlapping_chunks(ingested: Ingested, tmp_path: Path) -> None:
    sentences = [f"Sentence number {i} talks about topic {i * 7 % 13} in some detail." for i in range(60)]
    long_file = tmp_path / "long.txt"
    long_file.write_text(" ".join(sentences), encoding="utf-8")
    options = ChunkingOptions(max_tokens=48, overlap_tokens=12)
    report = ingested.workspace.ingest([long_file], "long-doc", options=options)
    chunks = sorted(ingested.workspace.store.all_chunks("long-doc").chunks, key=lambda c: c.position)
    text = long_file.read_text(encoding="utf-8")
    assert report.chunks_total == len(chunks) >= 5
    for chunk in chunks:
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert chunk.token_count <= 48
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.char_start < after.char_start < before.char_end  # overlap, moving forward
    assert chunks[0].char_start == 0
    assert chunks[-1].char_end == len(text.rstrip())
    metadata = ingested.workspace.store.metadata("long-doc")
    assert (metadata["chunk_tokens"], metadata["chunk_overlap"]) == (48, 12)


def test_beir_folder_given_as_dot_names_the_golden_set_after_the_folder(
    ingested: Ingested, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cd tiny-beir && reranklens ingest . -c ...``: the golden set is still named after the folder,
    and the ingest does not fail half-way (collection written, golden set refused)."""
    monkeypatch.chdir(ingested.beir)
    report = ingested.workspace.ingest([Path(".")], "beir-from-dot")
    assert report.golden_set == "tiny-beir"
    assert (report.golden_queries, report.golden_judgements) == (2, 3)
