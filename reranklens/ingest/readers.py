"""Turn files and BEIR folders into ``Document`` values.

HTML goes through BeautifulSoup and PDF through pypdf: both are maintained, pure-Python and
handle the messy real-world cases (entities, broken markup, PDF text extraction) we should not
re-implement.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reranklens.errors import UnreadableFileError, display_path
from reranklens.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md": True, ".markdown": True, ".txt": False}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = set(TEXT_SUFFIXES) | HTML_SUFFIXES | PDF_SUFFIXES
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".tbz2", ".xz", ".txz", ".zst", ".7z", ".rar", ".lz4"}
ARCHIVE_MESSAGE = "archives are not unpacked; extract first"
BEIR_CORPUS = "corpus.jsonl"
MEGABYTE = 1024 * 1024
# Characters a file name must not hold: control characters break one-line messages and terminals,
# a backslash is a path separator on Windows (so the id would mean another path there).
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


@dataclass(frozen=True)
class SourceFile:
    """A file to read, with the ``doc_id`` it will carry (its path relative to the ingested folder)."""

    path: Path
    doc_id: str


def is_beir_folder(path: Path) -> bool:
    return path.is_dir() and (path / BEIR_CORPUS).is_file()


def discover_files(path: Path, max_file_mb: float | None = None) -> tuple[list[SourceFile], list[str]]:
    """Files RerankLens can read under ``path`` (a file or a folder, searched recursively).

    Returns the files and one line per file skipped: an unsupported type, an archive, a file over
    ``max_file_mb``, a symlink that leaves the folder (or is broken), a name with control characters
    or a backslash. Hidden files and folders are ignored; symlinked folders are not followed.
    A file named explicitly that cannot be read is an error, not a silent skip.
    """
    if path.is_file():
        problem = _file_problem(path, path.name, max_file_mb)
        if problem:
            raise UnreadableFileError(display_path(path), problem)
        return [SourceFile(path, path.name)], []
    root = path.resolve()
    files: list[SourceFile] = []
    skipped: list[str] = []
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
            link = Path(folder, name)
            subfolders.remove(name)
            if not _inside(link, root):
                skipped.append(f"{display_path(link)}: skipped, symlink points outside {display_path(path)}")
        for name in sorted(n for n in names if not n.startswith(".")):
            file = Path(folder, name)
            relative = file.relative_to(path).as_posix()
            problem = _link_problem(file, root, path) or _file_problem(file, relative, max_file_mb)
            if problem:
                skipped.append(f"{display_path(file)}: skipped, {problem}")
            else:
                files.append(SourceFile(file, relative))
    files.sort(key=lambda source: source.path)
    return files, skipped


def _inside(link: Path, root: Path) -> bool:
    try:
        return link.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _link_problem(file: Path, root: Path, folder: Path) -> str:
    if not file.is_symlink():
        return ""
    if not file.exists():
        return "broken symlink"
    if not _inside(file, root):
        return f"symlink points outside {display_path(folder)}"
    return ""


def _file_problem(file: Path, doc_id: str, max_file_mb: float | None) -> str:
    """Why ``file`` cannot be ingested before reading it, or ``""``."""
    if _BAD_NAME.search(doc_id):
        return "the file name holds a control character or a backslash; rename it"
    suffix = file.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES or file.name.lower().endswith(".tar.gz"):
        return ARCHIVE_MESSAGE
    if suffix not in SUPPORTED_SUFFIXES:
        return f"unsupported file type '{file.suffix}' ({_supported()})"
    if not file.is_file():
        return "not a regular file"
    if max_file_mb is not None and max_file_mb > 0:
        size = file.stat().st_size
        if size > max_file_mb * MEGABYTE:
            return (
                f"{size / MEGABYTE:.1f} MB is over the {max_file_mb:g} MB limit; split it, or raise "
                "RERANKLENS_MAX_FILE_MB"
            )
    return ""


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
        raise UnreadableFileError(display_path(source.path), "contains no text")
    return Document(
        doc_id=source.doc_id,
        text=text,
        source=str(source.path),
        title=title,
        markdown=TEXT_SUFFIXES.get(suffix, False),
    )


def read_beir_corpus(folder: Path, problems: list[str] | None = None) -> Iterator[Document]:
    """Documents of a BEIR ``corpus.jsonl``: ``{"_id", "title", "text"}`` per line.

    The ``_id`` becomes the ``doc_id`` so BEIR qrels keep pointing at the right documents.
    Documents with neither title nor text are skipped (Cranfield has two). A bad line (not JSON,
    not UTF-8, no ``_id``, an ``_id`` seen before) raises ``UnreadableFileError`` naming
    ``file:line``; with a ``problems`` list it is skipped and its one-line reason appended there.
    """
    corpus = folder / BEIR_CORPUS
    seen: set[str] = set()
    with corpus.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            where = f"{display_path(corpus)}:{number}"
            try:
                record = _beir_record(raw, number)
            except UnreadableFileError as exc:
                if problems is None:
                    raise UnreadableFileError(where, exc.reason) from exc
                problems.append(f"{where}: skipped, {exc.reason}")
                continue
            if record is None:
                continue
            doc_id = record["_id"]
            if doc_id in seen:
                reason = f"document id {doc_id!r} appears earlier in the file; the first one is kept"
                if problems is None:
                    raise UnreadableFileError(where, reason)
                problems.append(f"{where}: skipped, {reason}")
                continue
            seen.add(doc_id)
            title = str(record.get("title") or "").strip()
            text = str(record.get("text") or "").strip()
            if not text and not title:
                log.info("skipping empty BEIR document %s", doc_id)
                continue
            yield Document(doc_id=doc_id, text=text or title, source=f"{corpus}#{doc_id}", title=title)


def _beir_record(raw: bytes, number: int) -> dict[str, str] | None:
    """One corpus line as ``{"_id", "title", "text"}`` strings; None for a blank line."""
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError("", f"not UTF-8 text (byte {exc.start})") from exc
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError("", f"not a BEIR corpus line (bad JSON: {exc.msg})") from exc
    if not isinstance(record, dict) or record.get("_id") in (None, ""):
        raise UnreadableFileError("", 'not a BEIR corpus line (needs a JSON object with "_id")')
    if isinstance(record["_id"], dict | list):
        raise UnreadableFileError("", '"_id" must be a string or a number')
    return {
        "_id": str(record["_id"]),
        "title": _plain(record.get("title")),
        "text": _plain(record.get("text")),
    }


def _plain(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(display_path(path), f"cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in data[:8192]:
        raise UnreadableFileError(display_path(path), "looks binary (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            display_path(path), f"is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
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
            raise UnreadableFileError(display_path(path), "is an encrypted PDF; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError) as exc:
        raise UnreadableFileError(display_path(path), f"is not a readable PDF ({exc})") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableFileError(display_path(path), "is a PDF without extractable text (scanned? run OCR first)")
    return text


def _supported() -> str:
    return "supported: " + ", ".join(sorted(SUPPORTED_SUFFIXES))
