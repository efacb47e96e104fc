"""Readers: files and BEIR folders to Documents, and the reasons a file cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reranklens.errors import UnreadableFileError
from reranklens.golden.beir import read_beir_judgements, read_qrels, read_queries
from reranklens.ingest.readers import SourceFile, discover_files, is_beir_folder, read_beir_corpus, read_file


def write_pdf(path: Path, lines: list[str], encrypt: object = None) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), encrypt=encrypt)
    for number, line in enumerate(lines):
        pdf.drawString(72, 760 - 18 * number, line)
    pdf.showPage()
    pdf.save()
    return path


def read(path: Path) -> object:
    return read_file(SourceFile(path, path.name))


def test_discover_files_walks_folders_with_relative_ids(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("top.md", "a/page.HTML", "a/b/deep.txt", "a/b/notes.markdown", ".hidden/secret.md", "a/.dot.md"):
        (tmp_path / name).write_text("text", encoding="utf-8")
    (tmp_path / "a" / "sheet.docx").write_bytes(b"PK\x03\x04")
    files, skipped = discover_files(tmp_path)
    assert [f.doc_id for f in files] == ["a/b/deep.txt", "a/b/notes.markdown", "a/page.HTML", "top.md"]
    assert [f.path for f in files] == [tmp_path / f.doc_id for f in files]
    assert len(skipped) == 1
    assert skipped[0].startswith(f"{tmp_path / 'a' / 'sheet.docx'}: skipped, unsupported file type '.docx'")


def test_explicit_file_of_unsupported_type_is_an_error(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.docx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnreadableFileError, match=r"sheet.docx: unsupported file type '.docx' \(supported: .htm, "):
        discover_files(sheet)


def test_explicit_file_keeps_its_name_as_doc_id(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("x", encoding="utf-8")
    assert discover_files(tmp_path / "one.txt") == ([SourceFile(tmp_path / "one.txt", "one.txt")], [])


@pytest.mark.parametrize(("name", "markdown"), [("a.md", True), ("a.markdown", True), ("a.txt", False)])
def test_text_files_are_read_verbatim(tmp_path: Path, name: str, markdown: bool) -> None:
    path = tmp_path / name
    path.write_bytes("\ufeff# Título\n\nCafé au lait.\n".encode())  # UTF-8 with a byte-order mark
    document = read(path)
    assert document.text == "# Título\n\nCafé au lait.\n"
    assert document.markdown is markdown
    assert (document.doc_id, document.source, document.title) == (name, str(path), "")


def test_html_text_title_and_no_scripts(tmp_path: Path) -> None:
    path = tmp_path / "p.htm"
    path.write_text(
        "<html><head><title> My &amp; Page </title><style>p{color:red}</style></head>"
        "<body><script>alert('x')</script><p>First&nbsp;para.</p><template>tmpl</template><div>Second</div>"
        "</body></html>",
        encoding="utf-8",
    )
    document = read(path)
    assert document.title == "My & Page"
    assert document.text == "First\xa0para.\nSecond"
    assert document.markdown is False


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    document = read(write_pdf(tmp_path / "r.pdf", ["First line of the report.", "Second line."]))
    assert "First line of the report." in document.text
    assert "Second line." in document.text
    assert document.markdown is False


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("nul.txt", b"abc\x00def", r"looks binary \(contains NUL bytes\), not text"),
        ("latin1.txt", "café".encode("latin-1"), r"is not UTF-8 text \(byte 3\); convert it, e.g. iconv -t UTF-8"),
        ("blank.md", b"  \n\n\t", "contains no text"),
        ("scripts.html", b"<html><script>var x = 1;</script></html>", "contains no text"),
        ("corrupt.pdf", b"%PDF-1.4\nnot really a pdf\n", "is not a readable PDF"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=reason) as raised:
        read(path)
    assert raised.value.path == str(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_pdf_without_text_says_to_run_ocr(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"PDF without extractable text \(scanned\? run OCR first\)"):
        read(write_pdf(tmp_path / "blank.pdf", []))


def test_password_protected_pdf_says_to_decrypt(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", ["Secret text."], encrypt="user-password")
    with pytest.raises(UnreadableFileError, match="is an encrypted PDF; decrypt it first"):
        read(path)


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    """Many published PDFs are encrypted with an empty user password (only printing or copying
    is restricted): every viewer opens them without asking, and pypdf decrypts them too."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    encryption = StandardEncryption("", ownerPassword="owner-only", canModify=0)
    path = write_pdf(tmp_path / "restricted.pdf", ["Readable text behind an owner password."], encryption)
    assert "Readable text behind an owner password." in read(path).text


def write_jsonl(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_beir_corpus_documents(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "corpus.jsonl",
        [
            {"_id": 7, "title": " T ", "text": " body "},
            {"_id": "empty", "title": "", "text": ""},
            {"_id": "t", "title": "Only title"},
        ],
    )
    assert is_beir_folder(tmp_path) and not is_beir_folder(tmp_path / "corpus.jsonl")
    documents = list(read_beir_corpus(tmp_path))
    assert [(d.doc_id, d.title, d.text) for d in documents] == [("7", "T", "body"), ("t", "Only title", "Only title")]
    assert documents[0].source == f"{tmp_path / 'corpus.jsonl'}#7"


def test_broken_beir_corpus_line_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text('{"_id": "1", "text": "ok"}\n{"text": "no id"}\n', encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"corpus.jsonl:2: not a BEIR corpus line"):
        list(read_beir_corpus(tmp_path))


def test_beir_queries_and_qrels(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "queries.jsonl", [{"_id": 1, "text": "first"}, {"_id": "2", "text": "second"}])
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t2\n1\td2\t0\n\n2\td1\t1.0\n")
    assert read_queries(tmp_path / "queries.jsonl") == {"1": "first", "2": "second"}
    assert read_qrels(tmp_path / "qrels.tsv") == {"1": {"d1": 2, "d2": 0}, "2": {"d1": 1}}
    assert read_beir_judgements(tmp_path) == ({"1": "first", "2": "second"}, {"1": {"d1": 2, "d2": 0}, "2": {"d1": 1}})


def test_beir_judgement_errors(tmp_path: Path) -> None:
    assert read_beir_judgements(tmp_path) is None  # no qrels: just a corpus
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\thigh\n")
    with pytest.raises(UnreadableFileError, match="has qrels.tsv but no queries.jsonl"):
        read_beir_judgements(tmp_path)
    with pytest.raises(UnreadableFileError, match=r"qrels.tsv:2: grade 'high' is not a number"):
        read_qrels(tmp_path / "qrels.tsv")
    (tmp_path / "qrels.tsv").write_text("1\td1\n")
    with pytest.raises(UnreadableFileError, match=r"qrels.tsv:1: expected 3 tab-separated columns"):
        read_qrels(tmp_path / "qrels.tsv")
