"""Trace sets: retrievals another application logged, replayed as a fixed first stage.

A trace is one logged retrieval: the query, the candidates in the order the application ranked
them (with its scores), and optionally the answer it generated. The JSONL format, one trace a line::

    {"trace_id": "t-17", "query": "How do I reset my password?",
     "candidates": [{"id": "kb-12", "text": "...", "score": 0.83, "metadata": {"source": "..."}}],
     "answer": "...", "timestamp": "2026-11-30T12:00:00Z"}

``answer``, ``timestamp``, and a candidate's ``text``, ``score`` and ``metadata`` are optional. A
candidate without text is kept (it counts in the logged ranking) but cannot be reranked.

Each candidate becomes a ``Chunk`` whose id is the logged id plus a hash of its text
(``kb-12#3f2a9c01d4e5``): a label given to it stays attached to that text, and when a later log
holds the same id with another text, the old label is an orphan, never a silent match. Document id,
source and heading come from the metadata as for attached collections (LangChain, LlamaIndex
conventions); without any, the logged id is the document.

Trace sets live in ``traces.sqlite`` in the data dir, or in the configured database (reranklens.database).
Imports are streamed (one line at a time into one transaction), so memory stays flat whatever the file size.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reranklens import database
from reranklens.errors import InvalidInputError
from reranklens.retrieve.conventions import MetadataKeys, map_chunk
from reranklens.types import NO_TEXT, Chunk, Hit, SearchResult

TRACE_FORMATS = ("jsonl", "openinference")
IMPORT_CACHE_KIB = 64 * 1024
CANDIDATE_BATCH = 2_000  # candidate rows per INSERT statement of an import
MAX_REPORTED = 20  # skipped lines / duplicate ids listed in full; the rest are counted
ANSWER_TRACE_SEPARATOR = "."  # a second retrieval in one OpenInference trace: TRACE.SPAN
NESTED_TOO_DEEPLY = "nested too deeply to read"

_METADATA = sa.MetaData()
TRACE_SETS = sa.Table(
    "trace_sets",
    _METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("imported_at", sa.Float, nullable=False),
    sa.Column("traces", sa.Integer, nullable=False, server_default="0"),
    sa.Column("candidates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("no_text", sa.Integer, nullable=False, server_default="0"),
)
TRACES = sa.Table(
    "traces",
    _METADATA,
    sa.Column("set_name", sa.Text, primary_key=True),
    sa.Column("trace_id", sa.Text, primary_key=True),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("answer", sa.Text),
    sa.Column("timestamp", sa.Text),
    sa.Index("traces_by_query", "set_name", "query"),
)
CANDIDATES = sa.Table(
    "candidates",
    _METADATA,
    sa.Column("set_name", sa.Text, primary_key=True),
    sa.Column("trace_id", sa.Text, primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("logged_id", sa.Text, nullable=False),
    sa.Column("chunk_id", sa.Text, nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Index("candidates_by_chunk", "set_name", "chunk_id"),
)
SCHEMA = database.Schema("traces", _METADATA)


@dataclass(frozen=True)
class TraceCandidate:
    """One logged candidate; ``text`` None when the log did not keep it."""

    id: str
    text: str | None
    score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def chunk_id(self) -> str:
        return candidate_chunk_id(self.id, self.text)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "chunk_id": self.chunk_id, "text": self.text, "score": self.score}
        data["metadata"] = self.metadata
        if self.text is None:
            data["note"] = NO_TEXT
        return data


@dataclass(frozen=True)
class Trace:
    """One logged retrieval, candidates in the application's order."""

    trace_id: str
    query: str
    candidates: tuple[TraceCandidate, ...]
    answer: str | None = None
    timestamp: str | None = None
    line: int = 0

    def __post_init__(self) -> None:
        if not self.trace_id:
            raise ValueError("Trace.trace_id must not be empty")

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "query": self.query,
            "answer": self.answer,
            "timestamp": self.timestamp,
            "line": self.line,
            "candidates": [c.to_json() for c in self.candidates],
        }


@dataclass(frozen=True)
class Skipped:
    """A line that could not be read, named ``file:line``."""

    line: int
    reason: str


@dataclass(frozen=True)
class LoggedAnswer:
    """An answer found apart from its retrieval (an OpenInference LLM span): applied after the import."""

    trace_id: str
    answer: str


ParsedLine = Trace | Skipped | LoggedAnswer


@dataclass(frozen=True)
class TraceSetInfo:
    name: str
    source: str
    format: str
    imported_at: float
    traces: int
    candidates: int
    no_text: int


@dataclass(frozen=True)
class TraceImportReport:
    """What an import did; ``skipped`` holds ``file:line: reason`` lines (at most ``MAX_REPORTED``)."""

    info: TraceSetInfo
    skipped: tuple[str, ...]
    skipped_count: int
    seconds: float


def candidate_chunk_id(logged_id: str, text: str | None) -> str:
    """The label key of a logged candidate: its id plus a hash of its text."""
    suffix = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12] if text is not None else "no-text"
    return f"{logged_id}#{suffix}"


def candidate_chunk(candidate: TraceCandidate) -> Chunk:
    """A logged candidate as a ``Chunk`` (see the module docstring for the ids)."""
    chunk = map_chunk(candidate.id, candidate.text or "", candidate.metadata, MetadataKeys())
    return replace(chunk, chunk_id=candidate.chunk_id)


def trace_search(trace: Trace, set_name: str) -> SearchResult:
    """A trace as a first-stage ranking: the logged order, the logged scores (0 where none was logged)."""
    hits = tuple(
        Hit(chunk=candidate_chunk(c), rank=rank, score=c.score if c.score is not None else 0.0)
        for rank, c in enumerate(trace.candidates, start=1)
    )
    return SearchResult(trace.query, set_name, "logged", hits, {})


def parse_trace_line(line: str, number: int) -> Trace | Skipped:
    """One JSONL line as a ``Trace``, or why it is not one."""
    data, problem = load_json_line(line)
    if problem:
        return Skipped(number, problem)
    if not isinstance(data, dict):
        return Skipped(number, "not a JSON object")
    trace_id, query = data.get("trace_id"), data.get("query")
    if not isinstance(trace_id, str | int) or isinstance(trace_id, bool) or not str(trace_id).strip():
        return Skipped(number, "no trace_id")
    if not isinstance(query, str) or not query.strip():
        return Skipped(number, "no query")
    raw = data.get("candidates")
    if not isinstance(raw, list):
        return Skipped(number, "candidates is not a list")
    candidates = []
    for position, item in enumerate(raw, start=1):
        candidate = parse_candidate(item)
        if isinstance(candidate, str):
            return Skipped(number, f"candidate {position}: {candidate}")
        candidates.append(candidate)
    answer, timestamp = data.get("answer"), data.get("timestamp")
    return Trace(
        trace_id=str(trace_id).strip(),
        query=query.strip(),
        candidates=tuple(candidates),
        answer=answer if isinstance(answer, str) else None,
        timestamp=str(timestamp) if timestamp is not None else None,
        line=number,
    )


def load_json_line(line: str) -> tuple[Any, str | None]:
    """(the JSON value of one line, None), or (None, why it is not JSON). A value nested deeper than
    Python's recursion limit (``[[[[...``) gets a reason too, never a ``RecursionError``."""
    try:
        return json.loads(line), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg})"
    except RecursionError:
        return None, NESTED_TOO_DEEPLY


def parse_candidate(item: Any) -> TraceCandidate | str:
    """A candidate object, or the reason it is malformed."""
    if not isinstance(item, dict):
        return "not an object"
    logged_id = item.get("id")
    if not isinstance(logged_id, str | int) or isinstance(logged_id, bool) or not str(logged_id).strip():
        return "no id"
    text = item.get("text")
    if text is not None and not isinstance(text, str):
        return "text is not a string"
    score = item.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        return "score is not a number"
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        return "metadata is not an object"
    return TraceCandidate(
        str(logged_id).strip(), text if text else None, float(score) if score is not None else None, metadata
    )


def read_jsonl(path: Path) -> Iterator[Trace | Skipped]:
    """Stream ``path``: one ``Trace`` or ``Skipped`` per non-blank line."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield parse_trace_line(line, number)


class DuplicateTraceError(InvalidInputError):
    def __init__(self, path: str, duplicates: list[tuple[str, int, int]], total: int) -> None:
        shown = "; ".join(f"'{tid}' on lines {first} and {again}" for tid, first, again in duplicates)
        more = f" (and {total - len(duplicates)} more)" if total > len(duplicates) else ""
        super().__init__(
            f"{path}: duplicate trace ids: {shown}{more}. Nothing was imported: make trace ids unique and import again."
        )


class TraceStore:
    """Trace sets in ``traces.sqlite`` in the data dir (or the configured database)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        with database.reading(self.path, SCHEMA) as db:
            return list(db.execute(sa.select(TRACE_SETS.c.name).order_by(TRACE_SETS.c.name)).scalars())

    def info(self, name: str) -> TraceSetInfo:
        with database.reading(self.path, SCHEMA) as db:
            row = db.execute(sa.select(TRACE_SETS).where(TRACE_SETS.c.name == name)).first()
        if row is None:
            raise self.unknown(name)
        return TraceSetInfo(*row)

    def unknown(self, name: str) -> InvalidInputError:
        known = ", ".join(self.names()) or "none yet"
        return InvalidInputError(
            f"No trace set named '{name}' (existing: {known}). "
            f"Import one with: reranklens traces import FILE --name {name}"
        )

    def import_traces(
        self, name: str, records: Iterable[ParsedLine], source: str, format: str = "jsonl"
    ) -> TraceImportReport:
        """Store ``records`` as trace set ``name`` in one transaction: all traces or (on a duplicate
        trace id) none. Malformed lines are skipped and reported; the rest is kept."""
        if not name.strip() or len(name) > 128 or any(ch in name for ch in ":/\\\n"):
            raise InvalidInputError(f"Invalid trace set name '{name}': use up to 128 characters without ':' or '/'.")
        if name in self.names():
            raise InvalidInputError(
                f"A trace set named '{name}' exists: delete it first (reranklens traces delete {name}) or pick another."
            )
        started = time.perf_counter()
        skipped: list[str] = []
        skipped_count = 0
        duplicates: list[tuple[str, int, int]] = []
        duplicate_count = 0
        answers: dict[str, str] = {}
        traces = candidates = no_text = 0
        with self._lock, database.transaction(self.path, SCHEMA) as db:
            if db.dialect.name == "sqlite":
                # A 64 MiB page cache keeps the id indexes' inserts off the disk; memory stays bounded by it.
                db.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
            db.execute(TRACE_SETS.insert().values(name=name, source=source, format=format, imported_at=time.time()))
            add_trace = database.insert_ignoring(db, TRACES).returning(TRACES.c.line)
            add_candidates = CANDIDATES.insert()
            pending: list[dict[str, Any]] = []  # candidates written in batches: one statement per row costs more
            for record in records:
                if isinstance(record, Skipped):
                    skipped_count += 1
                    if len(skipped) < MAX_REPORTED:
                        skipped.append(f"{source}:{record.line}: {record.reason}")
                    continue
                if isinstance(record, LoggedAnswer):
                    answers[record.trace_id] = record.answer
                    continue
                row = {"set_name": name, "trace_id": record.trace_id, "line": record.line, "query": record.query}
                added = db.execute(add_trace, {**row, "answer": record.answer, "timestamp": record.timestamp})
                if added.first() is None:
                    duplicate_count += 1
                    if len(duplicates) < MAX_REPORTED:
                        first = db.execute(
                            sa.select(TRACES.c.line).where(
                                TRACES.c.set_name == name, TRACES.c.trace_id == record.trace_id
                            )
                        ).scalar_one()
                        duplicates.append((record.trace_id, first, record.line))
                    continue
                pending.extend(
                    {
                        "set_name": name,
                        "trace_id": record.trace_id,
                        "rank": rank,
                        "logged_id": c.id,
                        "chunk_id": c.chunk_id,
                        "text": c.text,
                        "score": c.score,
                        "metadata": json.dumps(c.metadata),
                    }
                    for rank, c in enumerate(record.candidates, start=1)
                )
                if len(pending) >= CANDIDATE_BATCH:
                    db.execute(add_candidates, pending)
                    pending = []
                traces += 1
                candidates += len(record.candidates)
                no_text += sum(c.text is None for c in record.candidates)
            if pending:
                db.execute(add_candidates, pending)
            if duplicates:
                raise DuplicateTraceError(source, duplicates, duplicate_count)
            if not traces:
                first = f" ({skipped_count} line(s) skipped, the first: {skipped[0]})" if skipped else ""
                raise InvalidInputError(
                    f"{source}: no trace found{first}. Nothing was imported: check the file and --format "
                    f"({' or '.join(TRACE_FORMATS)})."
                )
            for trace_id, answer in answers.items():
                same_trace = (TRACES.c.trace_id == trace_id) | TRACES.c.trace_id.like(
                    trace_id + ANSWER_TRACE_SEPARATOR + "%"
                )
                db.execute(TRACES.update().where(TRACES.c.set_name == name, same_trace).values(answer=answer))
            db.execute(
                TRACE_SETS.update()
                .where(TRACE_SETS.c.name == name)
                .values(traces=traces, candidates=candidates, no_text=no_text)
            )
        return TraceImportReport(self.info(name), tuple(skipped), skipped_count, time.perf_counter() - started)

    def delete(self, name: str) -> None:
        if name not in self.names():
            raise self.unknown(name)
        with self._lock, database.transaction(self.path, SCHEMA) as db:
            for table in (CANDIDATES, TRACES):
                db.execute(table.delete().where(table.c.set_name == name))
            db.execute(TRACE_SETS.delete().where(TRACE_SETS.c.name == name))

    def trace_ids(self, name: str, limit: int | None = None, offset: int = 0) -> list[str]:
        query = sa.select(TRACES.c.trace_id).where(TRACES.c.set_name == name).order_by(TRACES.c.line)
        with database.reading(self.path, SCHEMA) as db:
            return list(db.execute(query.limit(limit).offset(offset)).scalars())

    def get(self, name: str, trace_id: str) -> Trace:
        here = (TRACES.c.set_name == name) & (TRACES.c.trace_id == trace_id)
        columns = (TRACES.c.trace_id, TRACES.c.query, TRACES.c.answer, TRACES.c.timestamp, TRACES.c.line)
        with database.reading(self.path, SCHEMA) as db:
            row = db.execute(sa.select(*columns).where(here)).first()
            if row is None:
                if name not in self.names():
                    raise self.unknown(name)
                raise InvalidInputError(
                    f"No trace '{trace_id}' in trace set '{name}': list them with reranklens traces show {name}"
                )
            logged = sa.select(CANDIDATES.c.logged_id, CANDIDATES.c.text, CANDIDATES.c.score, CANDIDATES.c.metadata)
            candidates = tuple(
                TraceCandidate(logged_id, text, score, json.loads(metadata))
                for logged_id, text, score, metadata in db.execute(
                    logged.where(CANDIDATES.c.set_name == name, CANDIDATES.c.trace_id == trace_id).order_by(
                        CANDIDATES.c.rank
                    )
                )
            )
        return Trace(row[0], row[1], candidates, row[2], row[3], row[4])

    def has(self, name: str, trace_id: str) -> bool:
        with database.reading(self.path, SCHEMA) as db:
            query = sa.select(sa.literal(1)).where(TRACES.c.set_name == name, TRACES.c.trace_id == trace_id)
            return db.execute(query).first() is not None

    def find(self, name: str, query: str) -> str | None:
        """The first trace (in file order) whose query is ``query``, ignoring case and spacing."""
        wanted = " ".join(query.split()).casefold()
        select = sa.select(TRACES.c.trace_id, TRACES.c.query).where(TRACES.c.set_name == name).order_by(TRACES.c.line)
        with database.reading(self.path, SCHEMA) as db:
            for trace_id, text in db.execute(select):
                if " ".join(text.split()).casefold() == wanted:
                    return str(trace_id)
        return None

    def existing_ids(self, name: str, chunk_ids: Iterable[str]) -> set[str]:
        """Which of ``chunk_ids`` some trace of the set holds (labels of the others are orphans)."""
        wanted = list(chunk_ids)
        found: set[str] = set()
        with database.reading(self.path, SCHEMA) as db:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                query = sa.select(CANDIDATES.c.chunk_id).where(
                    CANDIDATES.c.set_name == name, CANDIDATES.c.chunk_id.in_(batch)
                )
                found.update(db.execute(query.distinct()).scalars())
        return found
