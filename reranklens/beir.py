"""Read BEIR-layout queries and relevance judgements (``queries.jsonl``, ``qrels.tsv``).

Shapes follow the TREC convention used by ranx / ir_measures / pytrec_eval:
queries ``{qid: text}``, qrels ``{qid: {doc_id: grade}}``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from reranklens.errors import UnreadableFileError

QUERIES_FILE = "queries.jsonl"
QRELS_FILE = "qrels.tsv"
Qrels = dict[str, dict[str, int]]


def read_queries(path: Path) -> dict[str, str]:
    """``{"_id", "text"}`` per line -> ``{qid: text}``."""
    queries: dict[str, str] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                queries[str(record["_id"])] = str(record["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise UnreadableFileError(f"{path}:{number}", f"not a BEIR query line ({exc})") from exc
    return queries


def read_qrels(path: Path) -> Qrels:
    """Tab-separated ``query-id corpus-id score`` with a header line -> ``{qid: {doc_id: grade}}``."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        for number, row in enumerate(rows, start=1):
            if not row or (number == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}):
                continue
            if len(row) < 3:
                raise UnreadableFileError(f"{path}:{number}", "expected 3 tab-separated columns")
            qid, doc_id, grade = row[0].strip(), row[1].strip(), row[2].strip()
            try:
                qrels.setdefault(qid, {})[doc_id] = int(float(grade))
            except ValueError as exc:
                raise UnreadableFileError(f"{path}:{number}", f"grade '{grade}' is not a number") from exc
    return qrels


def read_beir_judgements(folder: Path) -> tuple[dict[str, str], Qrels] | None:
    """Queries and qrels of a BEIR folder, or None when it has no ``qrels.tsv``."""
    qrels_path, queries_path = folder / QRELS_FILE, folder / QUERIES_FILE
    if not qrels_path.is_file():
        return None
    if not queries_path.is_file():
        raise UnreadableFileError(str(folder), f"has {QRELS_FILE} but no {QUERIES_FILE}")
    return read_queries(queries_path), read_qrels(qrels_path)
