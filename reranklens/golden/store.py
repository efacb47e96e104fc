"""Golden sets: named sets of queries with relevance judgements, in one SQLite file.

SQLite in WAL mode because labels are precious and several app sessions write at once: every write
is one ``BEGIN IMMEDIATE`` transaction (writers queue, nothing is lost), readers never block.
``PRAGMA user_version`` holds the schema version; ``_MIGRATIONS`` upgrades older files in place.

A judgement targets a document (``level='doc'``, as BEIR qrels do) or a chunk (``level='chunk'``)
with a grade (0 = judged not relevant). Labels made in RerankLens use 0-3; imported judgements
keep their published scale (Cranfield's qrels go to 4), up to ``MAX_IMPORTED_GRADE``.
Judgements point at ids, not rows of the vector store,
so they survive re-ingestion; a chunk id that no longer exists is reported as orphaned, never
dropped.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from reranklens import database
from reranklens.errors import InvalidInputError, RerankLensError

SCHEMA_VERSION = 3
Level = Literal["doc", "chunk"]
Origin = Literal["human", "import", "suggestion"]
LEVELS: tuple[Level, ...] = ("doc", "chunk")
MIN_GRADE, MAX_GRADE = 0, 3
# Imported collections may use a wider scale (Cranfield's qrels go to 4); labels made here use 0-3.
MAX_IMPORTED_GRADE = 10
GRADE_LABELS = {0: "not relevant", 1: "related", 2: "relevant", 3: "answers it"}

_SCHEMA_V1 = """
CREATE TABLE golden_sets (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE queries (
    golden_set TEXT NOT NULL REFERENCES golden_sets(name) ON DELETE CASCADE,
    query_id TEXT NOT NULL,
    text TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (golden_set, query_id)
);
CREATE TABLE judgements (
    golden_set TEXT NOT NULL,
    query_id TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('doc', 'chunk')),
    target_id TEXT NOT NULL,
    grade INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (golden_set, query_id, level, target_id),
    FOREIGN KEY (golden_set, query_id) REFERENCES queries(golden_set, query_id) ON DELETE CASCADE
);
"""
# version reached -> SQL that gets there from the version before
_MIGRATIONS: dict[int, str] = {
    1: _SCHEMA_V1,
    2: """
    ALTER TABLE judgements ADD COLUMN origin TEXT NOT NULL DEFAULT 'human';
    ALTER TABLE queries ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
    UPDATE judgements SET origin = 'import' WHERE who = 'import';
    """,
    # What an LLM judge suggested when the person labelled (kept whether they accepted it or not,
    # so agreement between suggestions and people can be measured).
    3: """
    ALTER TABLE judgements ADD COLUMN suggested_grade INTEGER;
    ALTER TABLE judgements ADD COLUMN suggested_by TEXT NOT NULL DEFAULT '';
    """,
}


@dataclass(frozen=True)
class GoldenSetInfo:
    name: str
    source: str
    queries: int
    judgements: int


@dataclass(frozen=True)
class GoldenQuery:
    query_id: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class Judgement:
    """One grade. ``origin='suggestion'``: a person (``who``) accepted an LLM judge's suggestion;
    ``'human'``: a person chose the grade. ``suggested_grade``/``suggested_by`` keep the suggestion
    (and the model that made it) that was shown when the person labelled, if any."""

    query_id: str
    level: Level
    target_id: str
    grade: int
    note: str = ""
    who: str = ""
    origin: Origin = "human"
    updated_at: str = ""
    suggested_grade: int | None = None
    suggested_by: str = ""

    def __post_init__(self) -> None:
        check_grade(self.grade, MAX_IMPORTED_GRADE)
        if self.suggested_grade is not None:
            check_grade(self.suggested_grade)
        if self.level not in LEVELS:
            raise InvalidInputError(f"Judgement level must be 'doc' or 'chunk', got {self.level!r}.")
        if not self.target_id:
            raise InvalidInputError("A judgement needs a chunk or document id.")


def check_grade(grade: object, maximum: int = MAX_GRADE) -> int:
    if isinstance(grade, bool) or not isinstance(grade, int) or not MIN_GRADE <= grade <= maximum:
        raise InvalidInputError(f"Grade must be an integer {MIN_GRADE}-{maximum}, got {grade!r}.")
    return grade


def query_id_for(text: str) -> str:
    """A stable id for a typed query: the same words give the same id."""
    normalised = " ".join(text.lower().split())
    return "q-" + hashlib.sha1(normalised.encode()).hexdigest()[:10]


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file's schema to ``SCHEMA_VERSION`` (inside the caller's transaction)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RerankLensError(
            f"{path} was written by a newer RerankLens (schema {version} > {SCHEMA_VERSION}): upgrade."
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[target].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {target}")


class GoldenStore:
    """Read and write golden sets in ``path`` (created, or migrated, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect():  # creates or migrates the file now, so a newer schema is refused up front
            pass

    # -- plumbing -------------------------------------------------------------------------------

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return database.reading(self.path, lambda db: _migrate(db, self.path))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db, database.transaction(db):
            yield db

    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def _require_set(self, db: sqlite3.Connection, name: str) -> None:
        if db.execute("SELECT 1 FROM golden_sets WHERE name = ?", (name,)).fetchone() is None:
            known = ", ".join(r[0] for r in db.execute("SELECT name FROM golden_sets ORDER BY name")) or "none yet"
            raise InvalidInputError(f"No golden set named '{name}' (existing: {known}).")

    # -- sets -----------------------------------------------------------------------------------

    def create_set(self, name: str, source: str = "") -> None:
        """Create an empty set; an existing set of that name is left as it is."""
        name = _check_name(name)
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO golden_sets (name, source, created_at) VALUES (?, ?, ?)", (name, source, _now())
            )

    def delete_set(self, name: str) -> None:
        with self._transaction() as db:
            self._require_set(db, name)
            db.execute("DELETE FROM judgements WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM queries WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM golden_sets WHERE name = ?", (name,))

    def names(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT name FROM golden_sets ORDER BY name")]

    def info(self, name: str) -> GoldenSetInfo:
        with self._connect() as db:
            self._require_set(db, name)
            source = db.execute("SELECT source FROM golden_sets WHERE name = ?", (name,)).fetchone()[0]
            queries = db.execute("SELECT COUNT(*) FROM queries WHERE golden_set = ?", (name,)).fetchone()[0]
            judgements = db.execute("SELECT COUNT(*) FROM judgements WHERE golden_set = ?", (name,)).fetchone()[0]
        return GoldenSetInfo(name=name, source=source, queries=queries, judgements=judgements)

    def replace_set(
        self,
        name: str,
        queries: Mapping[str, str],
        qrels: Mapping[str, Mapping[str, int]],
        level: Level = "doc",
        source: str = "",
    ) -> GoldenSetInfo:
        """Create or overwrite set ``name`` from TREC-shaped data in one transaction (all or nothing)."""
        judgements = [
            Judgement(qid, level, target, int(grade), who="import", origin="import")
            for qid, targets in qrels.items()
            for target, grade in targets.items()
        ]
        return self.write_set(name, [GoldenQuery(qid, text) for qid, text in queries.items()], judgements, source)

    def write_set(
        self, name: str, queries: list[GoldenQuery], judgements: list[Judgement], source: str = ""
    ) -> GoldenSetInfo:
        """Create or overwrite set ``name`` with exactly these queries and judgements, atomically."""
        name = _check_name(name)
        known = {q.query_id for q in queries}
        if len(known) != len(queries):
            raise InvalidInputError(f"Golden set '{name}': duplicate query ids.")
        unknown = sorted({j.query_id for j in judgements} - known)
        if unknown:
            raise InvalidInputError(f"Judgements name queries that are not in the set: {', '.join(unknown[:5])}")
        now = _now()
        with self._transaction() as db:
            db.execute("DELETE FROM judgements WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM queries WHERE golden_set = ?", (name,))
            db.execute("DELETE FROM golden_sets WHERE name = ?", (name,))
            db.execute("INSERT INTO golden_sets (name, source, created_at) VALUES (?, ?, ?)", (name, source, now))
            db.executemany(
                "INSERT INTO queries (golden_set, query_id, text, note, created_at) VALUES (?, ?, ?, ?, ?)",
                [(name, q.query_id, q.text, q.note, now) for q in queries],
            )
            db.executemany(
                "INSERT OR REPLACE INTO judgements "
                "(golden_set, query_id, level, target_id, grade, note, who, origin, updated_at, suggested_grade, "
                "suggested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        name,
                        j.query_id,
                        j.level,
                        j.target_id,
                        j.grade,
                        j.note,
                        j.who,
                        j.origin,
                        j.updated_at or now,
                        j.suggested_grade,
                        j.suggested_by,
                    )
                    for j in judgements
                ],
            )
        return self.info(name)

    # -- queries --------------------------------------------------------------------------------

    def add_query(self, name: str, text: str, query_id: str | None = None, note: str | None = None) -> str:
        """Add ``text`` to the set (created if needed) and return its id; a query already in the set
        (same id, or same words) is reused, its note updated when one is given."""
        text = " ".join(text.split())
        if not text:
            raise InvalidInputError("A golden query needs text.")
        query_id = query_id or query_id_for(text)
        self.create_set(name)
        with self._transaction() as db:
            row = db.execute(
                "SELECT query_id FROM queries WHERE golden_set = ? AND (query_id = ? OR text = ?)",
                (name, query_id, text),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO queries (golden_set, query_id, text, note, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, query_id, text, note or "", _now()),
                )
                return query_id
            if note is not None:
                db.execute("UPDATE queries SET note = ? WHERE golden_set = ? AND query_id = ?", (note, name, row[0]))
            return str(row[0])

    def set_query_note(self, name: str, query_id: str, note: str) -> None:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE queries SET note = ? WHERE golden_set = ? AND query_id = ?", (note, name, query_id)
            ).rowcount
            if not changed:
                raise InvalidInputError(f"No query '{query_id}' in golden set '{name}'.")

    def queries(self, name: str) -> dict[str, str]:
        """``{query_id: text}`` in insertion order."""
        return {q.query_id: q.text for q in self.query_list(name)}

    def query_list(self, name: str) -> list[GoldenQuery]:
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(
                "SELECT query_id, text, note FROM queries WHERE golden_set = ? ORDER BY rowid", (name,)
            ).fetchall()
        return [GoldenQuery(*row) for row in rows]

    def find_query(self, name: str, text: str) -> GoldenQuery | None:
        """The set's query with these words (whitespace-insensitive), if any."""
        text = " ".join(text.split())
        with self._connect() as db:
            row = db.execute(
                "SELECT query_id, text, note FROM queries WHERE golden_set = ? AND text = ?", (name, text)
            ).fetchone()
        return GoldenQuery(*row) if row else None

    # -- judgements -----------------------------------------------------------------------------

    def judge(
        self,
        name: str,
        query_id: str,
        level: Level,
        target_id: str,
        grade: int,
        note: str = "",
        who: str = "",
        origin: Origin = "human",
        suggested_grade: int | None = None,
        suggested_by: str = "",
    ) -> Judgement:
        """Grade one chunk or document for one query (re-grading replaces the old grade).

        ``suggested_grade`` is the LLM suggestion the person saw (None: none was shown); with
        ``origin='suggestion'`` the grade is that suggestion, accepted by ``who``.
        """
        check_grade(grade)
        if origin == "suggestion":
            if suggested_grade not in (None, grade):
                raise InvalidInputError("A label accepted from a suggestion must have the suggested grade.")
            suggested_grade = grade
        judgement = Judgement(
            query_id, level, target_id, grade, note, who, origin, _now(), suggested_grade, suggested_by
        )
        with self._transaction() as db:
            self._require_set(db, name)
            if (
                db.execute("SELECT 1 FROM queries WHERE golden_set = ? AND query_id = ?", (name, query_id)).fetchone()
                is None
            ):
                raise InvalidInputError(f"No query '{query_id}' in golden set '{name}': add the query first.")
            db.execute(
                "INSERT OR REPLACE INTO judgements "
                "(golden_set, query_id, level, target_id, grade, note, who, origin, updated_at, suggested_grade, "
                "suggested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    query_id,
                    level,
                    target_id,
                    grade,
                    note,
                    who,
                    origin,
                    judgement.updated_at,
                    suggested_grade,
                    suggested_by,
                ),
            )
        return judgement

    def unjudge(self, name: str, query_id: str, level: Level, target_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM judgements WHERE golden_set = ? AND query_id = ? AND level = ? AND target_id = ?",
                (name, query_id, level, target_id),
            )

    def judgements(self, name: str, query_id: str | None = None) -> list[Judgement]:
        sql = (
            "SELECT query_id, level, target_id, grade, note, who, origin, updated_at, suggested_grade, suggested_by "
            "FROM judgements "
            "WHERE golden_set = ?" + (" AND query_id = ?" if query_id is not None else "") + " ORDER BY rowid"
        )
        with self._connect() as db:
            self._require_set(db, name)
            rows = db.execute(sql, (name, query_id) if query_id is not None else (name,)).fetchall()
        return [Judgement(*row) for row in rows]

    def qrels(self, name: str, level: Level = "doc") -> dict[str, dict[str, int]]:
        """``{query_id: {target_id: grade}}`` for one level: the TREC shape metric libraries take."""
        qrels: dict[str, dict[str, int]] = {}
        for judgement in self.judgements(name):
            if judgement.level == level:
                qrels.setdefault(judgement.query_id, {})[judgement.target_id] = judgement.grade
        return qrels


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 128 or any(ch in name for ch in "/\\\n\r\t"):
        raise InvalidInputError(f"Invalid golden set name {name!r}: use 1-128 characters without slashes.")
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
