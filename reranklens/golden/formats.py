"""Import and export golden sets as BEIR folders, TREC qrels, JSON Lines or CSV, both ways.

========  =========================================================  ==========================================
format    layout                                                     what survives a round trip
========  =========================================================  ==========================================
``beir``  folder: ``queries.jsonl`` (``{"_id", "text"}``, plus        query ids, texts and notes; every
          ``"note"`` when non-empty) and ``qrels.tsv`` (header        judgement's query, level, target and grade.
          ``query-id corpus-id score``, tab-separated)                Judgement notes, ``who``, origin and time
                                                                      are lost (imported as ``who='import'``,
                                                                      ``origin='import'``, time of the import).
``trec``  qrels file ``qid 0 docid grade`` (space-separated) and      as ``beir``. Without the topics file the
          a sibling ``<PATH>.topics.tsv`` (``qid text note``)         query text is the query id.
``jsonl`` one object per query: ``{"query_id", "text", "note",        every person's judgement, whole
          "judgements": [{"level", "target_id", "grade", "note",
          "who", "origin", "updated_at"}]}``
``csv``   one row per judgement: ``query_id, query, query_note,       as ``jsonl``
          level, target_id, grade, note, who, origin, updated_at``;
          a query without judgements is one row with empty
          level, target_id and grade
========  =========================================================  ==========================================

A set labelled by several people holds one grade per person for a target. JSONL and CSV carry each
person's judgement (one entry or row per person), so a team's set comes back with every grade; an entry
without ``who`` is the importer's (``import_set(..., importer=...)``). BEIR and TREC carry one grade per
target: the set's consensus (its rule, or the adjudicated grade), the grade evaluation uses. Adjudications
themselves and the consensus rule are not carried by any format.

BEIR and TREC have no level column: a chunk-level judgement is written with the target
``chunk:<chunk_id>``, and on import a ``chunk:`` prefix means level ``chunk``. Their ids cannot
hold tabs or line breaks (TREC: no whitespace at all); exporting such an id is refused with a
message that suggests jsonl or csv.

Grades are whole numbers ``0-MAX_IMPORTED_GRADE``, kept as given: golden labels made here use
0-3, but an imported collection keeps its own scale (Cranfield's qrels go to 4), exactly as
``reranklens ingest`` keeps it. Nothing is clamped or rescaled.

Import reads and validates the whole input before writing anything (bad JSON, wrong column
counts, non-numeric or out-of-range grades, qrels naming unknown queries, the same query and
target twice from the same person with different grades: each an error naming ``file:line``), then
replaces the set in
one transaction: a bad file never leaves a half-imported set. Export writes each file to a
temporary file in the target folder and renames it into place, so no half-written file is left.

Example::

    export_set(store, "demo", "trec", Path("demo.qrels"))   # demo.qrels + demo.qrels.topics.tsv
    import_set(store, Path("demo.qrels"), "demo-copy")      # format guessed from the name
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

from reranklens.errors import InvalidInputError, UnreadableFileError, display_path
from reranklens.golden.beir import QRELS_FILE, QUERIES_FILE
from reranklens.golden.store import (
    LEVELS,
    MAX_IMPORTED_GRADE,
    MIN_GRADE,
    GoldenQuery,
    GoldenSetInfo,
    GoldenStore,
    Judgement,
    Level,
    Origin,
)

log = logging.getLogger(__name__)

Format = Literal["beir", "trec", "jsonl", "csv"]
FORMATS: tuple[Format, ...] = get_args(Format)
ORIGINS: tuple[Origin, ...] = get_args(Origin)
CHUNK_PREFIX = "chunk:"
TOPICS_SUFFIX = ".topics.tsv"
QRELS_HEADER = ("query-id", "corpus-id", "score")
TOPICS_HEADER = ("qid", "text", "note")
CSV_COLUMNS = ("query_id", "query", "query_note", "level", "target_id", "grade", "note", "who", "origin", "updated_at")
_CSV_REQUIRED = ("query_id", "query", "level", "target_id", "grade")


def guess_format(path: Path) -> Format:
    """A folder (or a ``qrels.tsv`` in one) is BEIR, ``.jsonl`` JSON Lines, ``.csv`` CSV, anything else TREC."""
    if path.is_dir() or path.name == QRELS_FILE:
        return "beir"
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "trec"


def topics_path(qrels: Path) -> Path:
    """The sibling file that carries query texts and notes next to TREC qrels."""
    return qrels.with_name(qrels.name + TOPICS_SUFFIX)


# -- export -------------------------------------------------------------------------------------


def golden_records(store: GoldenStore, name: str, per_person: bool = True) -> list[dict[str, Any]]:
    """Set ``name`` as plain data, one dict per query in the set's order (the jsonl line shape)::

    {"query_id": "q1", "text": "...", "note": "", "judgements": [{"level": "chunk", "target_id": "c9",
     "grade": 2, "note": "", "who": "ana", "origin": "human", "updated_at": "2026-01-01T10:00:00+00:00"}]}

    ``per_person``: every person's judgement (several entries for a target graded by several people);
    otherwise one entry per target holding the set's consensus grade.
    """
    queries = store.query_list(name)
    by_query: dict[str, list[dict[str, Any]]] = {q.query_id: [] for q in queries}
    for j in store.person_judgements(name) if per_person else store.judgements(name):
        by_query[j.query_id].append(
            {
                "level": j.level,
                "target_id": j.target_id,
                "grade": j.grade,
                "note": j.note,
                "who": j.who,
                "origin": j.origin,
                "updated_at": j.updated_at,
            }
        )
    return [
        {"query_id": q.query_id, "text": q.text, "note": q.note, "judgements": by_query[q.query_id]} for q in queries
    ]


def export_set(store: GoldenStore, name: str, fmt: Format, out: Path) -> Path:
    """Write set ``name`` to ``out`` in ``fmt`` and return ``out`` (for ``beir`` a folder, created if
    needed; for ``trec`` the qrels file, with the topics file beside it). Existing files are replaced."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown golden set format '{fmt}': choose one of {', '.join(FORMATS)}.")
    records = golden_records(store, name, per_person=fmt in ("jsonl", "csv"))
    if fmt == "beir":
        if out.exists() and not out.is_dir():
            raise InvalidInputError(f"{out} is a file: a BEIR export needs a folder (give a new or existing folder).")
        queries_text, qrels_text = _beir_text(name, records)
        out.mkdir(parents=True, exist_ok=True)
        _atomic_write(out / QUERIES_FILE, queries_text)
        _atomic_write(out / QRELS_FILE, qrels_text)
    else:
        if out.is_dir():
            raise InvalidInputError(f"{out} is a folder: give a file name for a {fmt} export.")
        if fmt == "trec":
            qrels_text, topics_text = _trec_text(name, records)
            _atomic_write(out, qrels_text)
            _atomic_write(topics_path(out), topics_text)
        elif fmt == "jsonl":
            _atomic_write(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        else:
            _atomic_write(out, _csv_text(records))
    log.info("exported golden set %r (%d queries) as %s to %s", name, len(records), fmt, out)
    return out


def _beir_text(name: str, records: list[dict[str, Any]]) -> tuple[str, str]:
    queries = io.StringIO()
    qrels = io.StringIO()
    writer = csv.writer(qrels, delimiter="\t", lineterminator="\n")
    writer.writerow(QRELS_HEADER)
    for record in records:
        line: dict[str, str] = {"_id": record["query_id"], "text": record["text"]}
        if record["note"]:
            line["note"] = record["note"]
        queries.write(json.dumps(line, ensure_ascii=False) + "\n")
        for j in record["judgements"]:
            writer.writerow(
                (
                    _flat_id(record["query_id"], "query id", name, "beir"),
                    _flat_id(_qrels_target(j, name, "beir"), "target id", name, "beir"),
                    j["grade"],
                )
            )
    return queries.getvalue(), qrels.getvalue()


def _trec_text(name: str, records: list[dict[str, Any]]) -> tuple[str, str]:
    qrels = io.StringIO()
    topics = io.StringIO()
    writer = csv.writer(topics, delimiter="\t", lineterminator="\n")
    writer.writerow(TOPICS_HEADER)
    for record in records:
        qid = _flat_id(record["query_id"], "query id", name, "trec")
        writer.writerow((qid, record["text"], record["note"]))
        for j in record["judgements"]:
            target = _flat_id(_qrels_target(j, name, "trec"), "target id", name, "trec")
            qrels.write(f"{qid} 0 {target} {j['grade']}\n")
    return qrels.getvalue(), topics.getvalue()


# OWASP CSV injection: a spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")


def csv_cell(value: object) -> object:
    """``value`` safe for a spreadsheet: text starting with ``= + - @``, tab or CR gets a leading ``'``
    (OWASP), and so does text that already starts with ``'`` before one of those, so that
    ``csv_uncell`` gives back exactly the original. Numbers are left alone.

    >>> csv_cell("=1+1"), csv_cell("'=1"), csv_cell("plain"), csv_cell(-3)
    ("'=1+1", "''=1", 'plain', -3)
    """
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value


def csv_uncell(text: str) -> str:
    """The inverse of ``csv_cell`` for text read back from a CSV file RerankLens wrote."""
    return text[1:] if _FORMULA_START.match(text) and text.startswith("'") else text


def _csv_text(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = _SafeWriter(csv.writer(buffer))
    writer.writerow(CSV_COLUMNS)
    for record in records:
        query = [record["query_id"], record["text"], record["note"]]
        if not record["judgements"]:
            writer.writerow([*query, "", "", "", "", "", "", ""])
        for j in record["judgements"]:
            writer.writerow(
                [*query, j["level"], j["target_id"], j["grade"], j["note"], j["who"], j["origin"], j["updated_at"]]
            )
    return buffer.getvalue()


class _SafeWriter:
    """A ``csv.writer`` whose every cell goes through ``csv_cell``."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(cell) for cell in row])


def _qrels_target(judgement: dict[str, Any], name: str, fmt: Format) -> str:
    target = str(judgement["target_id"])
    if judgement["level"] == "chunk":
        return CHUNK_PREFIX + target
    if target.startswith(CHUNK_PREFIX):
        raise InvalidInputError(
            f"Cannot export golden set '{name}' as {fmt}: document id {target!r} starts with '{CHUNK_PREFIX}', "
            "which marks chunk ids there. Export as jsonl or csv instead."
        )
    return target


def _flat_id(value: str, what: str, name: str, fmt: Format) -> str:
    bad = any(ch.isspace() for ch in value) if fmt == "trec" else any(ch in value for ch in "\t\r\n")
    if bad or not value:
        kind = "whitespace" if fmt == "trec" else "tabs or line breaks"
        raise InvalidInputError(
            f"Cannot export golden set '{name}' as {fmt}: {what} {value!r} is empty or holds {kind}, "
            f"which {fmt} files cannot carry. Export as jsonl or csv instead."
        )
    return value


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` next to ``path`` and rename it into place: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        # os.open with 0o666 honours the umask, as a plain open() would (tempfile would force 0o600).
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# -- import -------------------------------------------------------------------------------------


def import_set(
    store: GoldenStore, path: Path, name: str, fmt: Format | None = None, importer: str = ""
) -> GoldenSetInfo:
    """Read a golden set from ``path`` (``fmt`` None: guessed by ``guess_format``) and store it as
    ``name``, replacing any set of that name in one transaction. The whole input is validated
    first; ``UnreadableFileError`` / ``InvalidInputError`` name the offending ``file:line``.
    A jsonl or csv judgement without ``who`` is recorded as ``importer``'s."""
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown golden set format '{fmt}': choose one of {', '.join(FORMATS)}.")
    if not path.exists():
        raise UnreadableFileError(display_path(path), "does not exist")
    parsed = _READERS[fmt](path, importer)
    if not parsed.queries:
        raise InvalidInputError(
            f"{display_path(path)}: no queries found, nothing to import (is it a {fmt} golden set?)."
        )
    info = store.write_set(name, list(parsed.queries.values()), list(parsed.judgements.values()), source=str(path))
    log.info("imported golden set %r from %s (%s): %d queries", name, path, fmt, info.queries)
    return info


@dataclass
class _Parsed:
    """Queries and judgements read so far, with where each came from (to name both sides of a conflict)."""

    importer: str = ""
    queries: dict[str, GoldenQuery] = field(default_factory=dict)
    judgements: dict[tuple[str, str, str, str], Judgement] = field(default_factory=dict)
    _seen: dict[object, str] = field(default_factory=dict)

    def add_query(self, query: GoldenQuery, where: str) -> None:
        if not query.query_id:
            raise InvalidInputError(f"{where}: the query id is empty.")
        if not query.text.strip():
            raise InvalidInputError(f"{where}: query {query.query_id!r} has no text.")
        known = self.queries.get(query.query_id)
        if known is None:
            self.queries[query.query_id] = query
            self._seen[("q", query.query_id)] = where
        elif known != query:
            first = self._seen[("q", query.query_id)]
            raise InvalidInputError(f"{where}: query {query.query_id!r} is already defined differently at {first}.")

    def add_judgement(self, judgement: Judgement, where: str) -> None:
        if judgement.query_id not in self.queries:
            raise InvalidInputError(
                f"{where}: query id {judgement.query_id!r} is not among the queries: add that query or drop the line."
            )
        if not judgement.who and self.importer:
            judgement = replace(judgement, who=self.importer)
        key = (judgement.query_id, judgement.level, judgement.target_id, judgement.who)
        known = self.judgements.get(key)
        if known is None:
            self.judgements[key] = judgement
            self._seen[key] = where
        elif known != judgement:
            what = f"grade {known.grade} vs {judgement.grade}" if known.grade != judgement.grade else "other fields"
            by = f" by {judgement.who!r}" if judgement.who else ""
            raise InvalidInputError(
                f"Conflicting judgements{by} of {judgement.level} {judgement.target_id!r} for query "
                f"{judgement.query_id!r} at {self._seen[key]} and {where} ({what}): keep one of them."
            )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(display_path(path), f"is not UTF-8 text (byte {exc.start})") from exc
    except IsADirectoryError as exc:
        raise UnreadableFileError(display_path(path), "is a folder, not a file") from exc
    except OSError as exc:
        raise UnreadableFileError(display_path(path), exc.strerror or str(exc)) from exc


def _lines(path: Path) -> Iterator[tuple[str, str]]:
    """``(where, line)`` for each non-blank line, ``where`` being ``file:line``."""
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if line.strip():
            yield f"{display_path(path)}:{number}", line.rstrip("\r")


def _rows(path: Path, delimiter: str = "\t") -> Iterator[tuple[str, list[str]]]:
    """``(where, cells)`` for each non-blank row of a delimited file; quoted cells may span lines, so
    ``where`` names the line the row starts on."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter)
    last_line = 0
    try:
        for row in reader:
            start, last_line = last_line + 1, reader.line_num
            if any(cell.strip() for cell in row):
                yield f"{display_path(path)}:{start}", row
    except csv.Error as exc:
        raise UnreadableFileError(f"{display_path(path)}:{last_line + 1}", f"not valid CSV ({exc})") from exc


def _grade(raw: object, where: str) -> int:
    if isinstance(raw, bool):
        raise InvalidInputError(f"{where}: grade {raw!r} is not a number (use a whole number, 0-3 for labels).")
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise InvalidInputError(
                    f"{where}: grade {text!r} is not a number (use a whole number, 0-3 for labels)."
                ) from None
            if not number.is_integer():
                raise InvalidInputError(f"{where}: grade {text!r} is not a whole number (0-3 for labels).") from None
            value = int(number)
    if not MIN_GRADE <= value <= MAX_IMPORTED_GRADE:
        raise InvalidInputError(
            f"{where}: grade {value} is outside {MIN_GRADE}-{MAX_IMPORTED_GRADE} "
            f"(golden labels use 0-3; imported scales may go up to {MAX_IMPORTED_GRADE})."
        )
    return value


def _qrels_judgement(qid: str, target: str, grade: str, where: str) -> Judgement:
    level: Level = "doc"
    if target.startswith(CHUNK_PREFIX):
        level, target = "chunk", target[len(CHUNK_PREFIX) :]
    if not target:
        raise InvalidInputError(f"{where}: the target id is empty.")
    return Judgement(qid, level, target, _grade(grade, where), who="import", origin="import")


def _full_judgement(
    where: str,
    query_id: str,
    level: object,
    target_id: object,
    grade: object,
    note: object,
    who: object,
    origin: object,
    updated_at: object,
) -> Judgement:
    """A judgement with every field from a jsonl or csv record, each checked with ``where`` in the message."""
    if level not in LEVELS:
        raise InvalidInputError(f"{where}: level must be 'doc' or 'chunk', got {level!r}.")
    target = "" if target_id is None else str(target_id)
    if not target.strip():
        raise InvalidInputError(f"{where}: the target id is empty.")
    origin_text = str(origin or "import")
    if origin_text not in ORIGINS:
        raise InvalidInputError(f"{where}: origin must be one of {', '.join(ORIGINS)}, got {origin_text!r}.")
    time_text = str(updated_at or "")
    if time_text:
        try:
            datetime.fromisoformat(time_text)
        except ValueError:
            raise InvalidInputError(f"{where}: updated_at {time_text!r} is not an ISO 8601 time.") from None
    return Judgement(
        query_id,
        cast(Level, level),
        target,
        _grade(grade, where),
        str(note or ""),
        str(who or ""),
        cast(Origin, origin_text),
        time_text,
    )


def _read_beir(path: Path, importer: str = "") -> _Parsed:
    folder = path.parent if path.is_file() and path.name == QRELS_FILE else path
    queries_path, qrels_path = folder / QUERIES_FILE, folder / QRELS_FILE
    for needed in (queries_path, qrels_path):
        if not needed.is_file():
            raise UnreadableFileError(display_path(folder), f"is not a BEIR folder: it has no {needed.name}")
    parsed = _Parsed(importer)
    for where, line in _lines(queries_path):
        record = _json_object(line, where)
        if "_id" not in record or "text" not in record:
            raise InvalidInputError(f'{where}: a BEIR query line needs "_id" and "text".')
        text, note = record["text"], record.get("note") or ""
        if not isinstance(text, str) or not isinstance(note, str):
            raise InvalidInputError(f'{where}: "text" and "note" must be strings.')
        parsed.add_query(GoldenQuery(str(record["_id"]), text, note), where)
    for number, (where, row) in enumerate(_rows(qrels_path)):
        if number == 0 and row[0].strip().lower() in {"query-id", "query_id", "qid"}:
            continue
        if len(row) < 3:
            raise UnreadableFileError(where, "expected 3 tab-separated columns: query-id, corpus-id, score")
        qid, target, grade = row[0].strip(), row[1].strip(), row[2]
        parsed.add_judgement(_qrels_judgement(qid, target, grade, where), where)
    return parsed


def _read_trec(path: Path, importer: str = "") -> _Parsed:
    parsed = _Parsed(importer)
    topics = topics_path(path)
    has_topics = topics.is_file()
    if has_topics:
        for number, (where, row) in enumerate(_rows(topics)):
            if number == 0 and [cell.strip().lower() for cell in row[:2]] == list(TOPICS_HEADER[:2]):
                continue
            if len(row) < 2:
                raise UnreadableFileError(where, "expected tab-separated columns: qid, text[, note]")
            parsed.add_query(GoldenQuery(row[0].strip(), row[1], row[2] if len(row) > 2 else ""), where)
    for where, line in _lines(path):
        cells = line.split()
        if len(cells) != 4:
            raise UnreadableFileError(
                where, f"expected 4 space-separated columns 'qid 0 docid grade', got {len(cells)}"
            )
        qid, _, target, grade = cells
        if not has_topics and qid not in parsed.queries:
            parsed.add_query(GoldenQuery(qid, qid), where)
        parsed.add_judgement(_qrels_judgement(qid, target, grade, where), where)
    return parsed


def _read_jsonl(path: Path, importer: str = "") -> _Parsed:
    parsed = _Parsed(importer)
    for where, line in _lines(path):
        record = _json_object(line, where)
        missing = [key for key in ("query_id", "text") if key not in record]
        if missing:
            raise InvalidInputError(f"{where}: missing {', '.join(map(repr, missing))}.")
        query_id, text, note = str(record["query_id"]), record["text"], record.get("note") or ""
        if not isinstance(text, str) or not isinstance(note, str):
            raise InvalidInputError(f'{where}: "text" and "note" must be strings.')
        parsed.add_query(GoldenQuery(query_id, text, note), where)
        judgements = record.get("judgements") or []
        if not isinstance(judgements, list):
            raise InvalidInputError(f'{where}: "judgements" must be a list.')
        for index, item in enumerate(judgements, start=1):
            at = f"{where} (judgement {index})"
            if not isinstance(item, dict):
                raise InvalidInputError(f"{at}: expected an object, got {type(item).__name__}.")
            missing = [key for key in ("level", "target_id", "grade") if key not in item]
            if missing:
                raise InvalidInputError(f"{at}: missing {', '.join(map(repr, missing))}.")
            judgement = _full_judgement(
                at,
                query_id,
                item["level"],
                item["target_id"],
                item["grade"],
                item.get("note"),
                item.get("who"),
                item.get("origin"),
                item.get("updated_at"),
            )
            parsed.add_judgement(judgement, at)
    return parsed


def _read_csv(path: Path, importer: str = "") -> _Parsed:
    parsed = _Parsed(importer)
    rows = _rows(path, delimiter=",")
    where, header = next(rows, (f"{display_path(path)}:1", []))
    missing = [column for column in _CSV_REQUIRED if column not in header]
    if missing:
        raise UnreadableFileError(where, f"the header lacks the column(s) {', '.join(missing)}")
    for where, cells in rows:
        if len(cells) > len(header):
            raise UnreadableFileError(where, f"{len(cells)} cells but only {len(header)} header columns")
        row = dict(zip(header, (csv_uncell(cell) for cell in cells), strict=False))
        query_id = row["query_id"] if "query_id" in row else ""
        parsed.add_query(GoldenQuery(query_id, row.get("query", ""), row.get("query_note", "")), where)
        if not any(row.get(column) for column in ("level", "target_id", "grade")):
            continue  # a query without judgements
        judgement = _full_judgement(
            where,
            query_id,
            row.get("level"),
            row.get("target_id"),
            row.get("grade", ""),
            row.get("note"),
            row.get("who"),
            row.get("origin"),
            row.get("updated_at"),
        )
        parsed.add_judgement(judgement, where)
    return parsed


def _json_object(line: str, where: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise UnreadableFileError(where, f"expected a JSON object, got {type(record).__name__}")
    return record


_READERS: dict[Format, Callable[[Path, str], _Parsed]] = {
    "beir": _read_beir,
    "trec": _read_trec,
    "jsonl": _read_jsonl,
    "csv": _read_csv,
}
