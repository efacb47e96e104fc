"""Turn files and BEIR folders into ``Document`` values.

HTML goes through BeautifulSoup and PDF through pypdf: both are maintained, pure-Python and
handle the messy real-world cases (entities, broken markup, PDF text extraction) we should not
re-implement.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reranklens.errors import UnreadableFileError
from reranklens.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md": True, ".markdown": True, ".txt": False}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = set(TEXT_SUFFIXES) | HTML_SUFFIXES | PDF_SUFFIXES
BEIR_CORPUS = "corpus.jsonl"


@dataclass(frozen=True)
class SourceFile:
    """A file to read, with the ``doc_id`` it will carry (its path relative to the ingested folder)."""

    path: Path
    doc_id: str


def is_beir_folder(path: Path) -> bool:
    return path.is_dir() and (path / BEIR_CORPUS).is_file()


def discover_files(path: Path) -> tuple[list[SourceFile], list[str]]:
    """Files RerankLens can read under ``path`` (a file or a folder, searched recursively).

    Returns the files and one line per file skipped for an unsupported type. A file named
    explicitly with an unsupported type is an error, not a silent skip.
    """
    if path.is_file():
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise UnreadableFileError(str(path), f"unsupported file type '{path.suffix}' ({_supported()})")
        return [SourceFile(path, path.name)], []
    files: list[SourceFile] = []
    skipped: list[str] = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = file.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if file.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(SourceFile(file, relative.as_posix()))
        else:
            skipped.append(f"{file}: skipped, unsupported file type '{file.suffix}' ({_supported()})")
    return files, skipped


def read_file(source: SourceFile) -> Document:
    """Read one file into a Document; raises ``UnreadableFileError`` with the reason."""
    suffix = source.path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        text, title = _read_pdf(source.path), ""
    else:
        raw = _read_text(source.path)
        if suffix in HTML_SUFFIXES:
            text, title = _html_to_text(raw)
        else:
            text, title = raw, ""
    if not text.strip():
        raise UnreadableFileError(str(source.path), "contains no text")
    return Document(
        doc_id=source.doc_id,
        text=text,
        source=str(source.path),
        title=title,
        markdown=TEXT_SUFFIXES.get(suffix, False),
    )


def read_beir_corpus(folder: Path) -> Iterator[Document]:
    """Documents of a BEIR ``corpus.jsonl``: ``{"_id", "title", "text"}`` per line.

    The ``_id`` becomes the ``doc_id`` so BEIR qrels keep pointing at the right documents.
    Documents with neither title nor text are skipped (Cranfield has two).
    """
    corpus = folder / BEIR_CORPUS
    with corpus.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                doc_id = str(record["_id"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise UnreadableFileError(f"{corpus}:{number}", f"not a BEIR corpus line ({exc})") from exc
            title = str(record.get("title") or "").strip()
            text = str(record.get("text") or "").strip()
            if not text and not title:
                log.info("skipping empty BEIR document %s", doc_id)
                continue
            yield Document(doc_id=doc_id, text=text or title, source=f"{corpus}#{doc_id}", title=title)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(str(path), f"cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in data[:8192]:
        raise UnreadableFileError(str(path), "looks binary (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            str(path), f"is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        ) from exc


def _html_to_text(html: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), title


def _read_pdf(path: Path) -> str:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        # An owner-password-only PDF (common for published PDFs) opens with the empty user password.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise UnreadableFileError(str(path), "is an encrypted PDF; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError) as exc:
        raise UnreadableFileError(str(path), f"is not a readable PDF ({exc})") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableFileError(str(path), "is a PDF without extractable text (scanned? run OCR first)")
    return text


def _supported() -> str:
    return "supported: " + ", ".join(sorted(SUPPORTED_SUFFIXES))
