"""Golden sets: named collections of queries with relevance judgements, in one SQLite file.

SQLite (WAL mode) because labels are precious and written by several app sessions at once:
every write is one transaction. ``PRAGMA user_version`` carries the schema version so later
versions can migrate old files in place.

A judgement targets either a document (``level='doc'``, as BEIR qrels do) or a chunk
(``level='chunk'``), with a grade 0-3 (0 = judged not relevant).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from reranklens.errors import InvalidInputError, RerankLensError

SCHEMA_VERSION = 1
Level = Literal["doc", "chunk"]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS golden_sets (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
    golden_set TEXT NOT NULL REFERENCES golden_sets(name) ON DELETE CASCADE,
    query_id TEXT NOT NULL,
    text TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (golden_set, query_id)
);
CREATE TABLE IF NOT EXISTS judgements (
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


@dataclass(frozen=True)
class GoldenSetInfo:
    name: str
    source: str
    queries: int
    judgements: int


class GoldenStore:
    """Read and write golden sets in ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RerankLensError(
                    f"{path} was written by a newer RerankLens (schema {version} > {SCHEMA_VERSION}): upgrade."
                )
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def replace_set(
        self,
        name: str,
        queries: Mapping[str, str],
        qrels: Mapping[str, Mapping[str, int]],
        level: Level = "doc",
        source: str = "",
    ) -> GoldenSetInfo:
        """Create or overwrite golden set ``name`` in one transaction (an import is all or nothing).

        ``qrels`` must only name queries present in ``queries``.
        """
        if not name.strip():
            raise InvalidInputError("A golden set needs a name.")
        unknown = sorted(set(qrels) - set(queries))
        if unknown:
            raise InvalidInputError(f"Judgements name queries that are not in the set: {', '.join(unknown[:5])}")
        now = _now()
        with self._transaction() as db:
            db.execute("DELETE FROM golden_sets WHERE name = ?", (name,))
            db.execute("INSERT INTO golden_sets (name, source, created_at) VALUES (?, ?, ?)", (name, source, now))
            db.executemany(
                "INSERT INTO queries (golden_set, query_id, text) VALUES (?, ?, ?)",
                [(name, qid, text) for qid, text in queries.items()],
            )
            db.executemany(
                "INSERT INTO judgements (golden_set, query_id, level, target_id, grade, who, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (name, qid, level, target, int(grade), "import", now)
                    for qid, targets in qrels.items()
                    for target, grade in targets.items()
                ],
            )
        return self.info(name)

    def names(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT name FROM golden_sets ORDER BY name")]

    def info(self, name: str) -> GoldenSetInfo:
        with self._connect() as db:
            row = db.execute("SELECT source FROM golden_sets WHERE name = ?", (name,)).fetchone()
            if row is None:
                known = ", ".join(self.names()) or "none yet"
                raise InvalidInputError(f"No golden set named '{name}' (existing: {known}).")
            queries = db.execute("SELECT COUNT(*) FROM queries WHERE golden_set = ?", (name,)).fetchone()[0]
            judgements = db.execute("SELECT COUNT(*) FROM judgements WHERE golden_set = ?", (name,)).fetchone()[0]
        return GoldenSetInfo(name=name, source=row[0], queries=queries, judgements=judgements)

    def queries(self, name: str) -> dict[str, str]:
        self.info(name)
        with self._connect() as db:
            rows = db.execute("SELECT query_id, text FROM queries WHERE golden_set = ? ORDER BY rowid", (name,))
            return dict(rows.fetchall())

    def qrels(self, name: str, level: Level = "doc") -> dict[str, dict[str, int]]:
        """``{qid: {target_id: grade}}`` for one level (doc or chunk)."""
        self.info(name)
        qrels: dict[str, dict[str, int]] = {}
        with self._connect() as db:
            rows = db.execute(
                "SELECT query_id, target_id, grade FROM judgements WHERE golden_set = ? AND level = ?",
                (name, level),
            )
            for qid, target, grade in rows:
                qrels.setdefault(qid, {})[target] = grade
        return qrels


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
