"""Read BEIR-layout queries and relevance judgements (``queries.jsonl``, ``qrels.tsv``).

Shapes follow the TREC convention used by ranx / ir_measures / pytrec_eval:
queries ``{qid: text}``, qrels ``{qid: {doc_id: grade}}``.

Every reader is strict by default (the first bad line raises ``UnreadableFileError`` naming
``file:line``). Given a ``problems`` list it keeps the good lines instead and appends one line per
bad one (``file:line: skipped, reason``): what ``reranklens ingest`` does with a BEIR folder.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from reranklens.errors import UnreadableFileError, display_path

QUERIES_FILE = "queries.jsonl"
QRELS_FILE = "qrels.tsv"
Qrels = dict[str, dict[str, int]]


def _problem(problems: list[str] | None, where: str, reason: str) -> None:
    """Raise (strict) or record (lenient) one bad line."""
    if problems is None:
        raise UnreadableFileError(where, reason)
    problems.append(f"{where}: skipped, {reason}")


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(display_path(path), f"is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise UnreadableFileError(display_path(path), f"cannot be read ({exc.strerror or exc})") from exc


def read_queries(path: Path, problems: list[str] | None = None) -> dict[str, str]:
    """``{"_id", "text"}`` per line -> ``{qid: text}``."""
    queries: dict[str, str] = {}
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{display_path(path)}:{number}"
        try:
            record = json.loads(line)
            qid, text = str(record["_id"]), record["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            _problem(problems, where, f"not a BEIR query line ({type(exc).__name__}: {exc})")
            continue
        if not isinstance(text, str) or not text.strip() or not qid:
            _problem(problems, where, "not a BEIR query line (empty id or text)")
            continue
        if qid in queries and queries[qid] != text:
            _problem(problems, where, f"query id {qid!r} appears earlier with another text; the first is kept")
            continue
        queries[qid] = text
    return queries


def read_qrels(path: Path, problems: list[str] | None = None, queries: dict[str, str] | None = None) -> Qrels:
    """Tab-separated ``query-id corpus-id score`` with a header line -> ``{qid: {doc_id: grade}}``.

    With ``queries``, a line naming a query id not among them is a bad line. The same query and
    document twice with different grades is a bad line (the first grade is kept).
    """
    qrels: Qrels = {}
    rows = csv.reader(io.StringIO(_text(path), newline=""), delimiter="\t")
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            _problem(problems, f"{display_path(path)}:{rows.line_num}", f"not valid TSV ({exc})")
            continue
        number = rows.line_num
        where = f"{display_path(path)}:{number}"
        if not row or not any(cell.strip() for cell in row):
            continue
        if number == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}:
            continue
        if len(row) < 3:
            _problem(problems, where, "expected 3 tab-separated columns")
            continue
        qid, doc_id, grade_text = row[0].strip(), row[1].strip(), row[2].strip()
        try:
            grade = int(float(grade_text))
        except (ValueError, OverflowError):
            _problem(problems, where, f"grade '{grade_text}' is not a number")
            continue
        if not qid or not doc_id:
            _problem(problems, where, "empty query id or corpus id")
            continue
        if queries is not None and qid not in queries:
            _problem(problems, where, f"query id {qid!r} is not in {QUERIES_FILE}")
            continue
        known = qrels.get(qid, {}).get(doc_id)
        if known is not None and known != grade:
            _problem(problems, where, f"{qid!r}/{doc_id!r} was graded {known} earlier; the first grade is kept")
            continue
        qrels.setdefault(qid, {})[doc_id] = grade
    return qrels


def read_beir_judgements(folder: Path, problems: list[str] | None = None) -> tuple[dict[str, str], Qrels] | None:
    """Queries and qrels of a BEIR folder, or None when it has no ``qrels.tsv``.

    With ``problems`` (lenient), qrels lines naming unknown query ids are skipped and reported too.
    """
    qrels_path, queries_path = folder / QRELS_FILE, folder / QUERIES_FILE
    if not qrels_path.is_file():
        return None
    if not queries_path.is_file():
        raise UnreadableFileError(display_path(folder), f"has {QRELS_FILE} but no {QUERIES_FILE}")
    queries = read_queries(queries_path, problems)
    return queries, read_qrels(qrels_path, problems, queries if problems is not None else None)
