"""Saved evaluation runs (SQLite in the data dir), so today's model can be compared with yesterday's.

A run is stored whole as JSON (``EvalResult.to_json``): runs are written once and read back for
comparison, never queried field by field.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reranklens import database
from reranklens.errors import InvalidInputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    collection TEXT NOT NULL,
    golden_set TEXT NOT NULL,
    result TEXT NOT NULL
)
"""


def _create_table(db: sqlite3.Connection) -> None:
    db.execute(_SCHEMA)


@dataclass(frozen=True)
class SavedRun:
    run_id: int
    created_at: str
    label: str
    collection: str
    golden_set: str
    result: dict[str, Any]


class RunStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return database.reading(self.path, _create_table)

    def save(self, result: dict[str, Any], label: str = "") -> int:
        with self._connect() as db, database.transaction(db):
            cursor = db.execute(
                "INSERT INTO runs (created_at, label, collection, golden_set, result) VALUES (?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    label,
                    result["collection"],
                    result["golden_set"],
                    json.dumps(result),
                ),
            )
            return int(cursor.lastrowid or 0)

    def list(self, collection: str | None = None, golden_set: str | None = None) -> list[SavedRun]:
        sql = "SELECT run_id, created_at, label, collection, golden_set, result FROM runs"
        clauses, args = [], []
        if collection:
            clauses.append("collection = ?")
            args.append(collection)
        if golden_set:
            clauses.append("golden_set = ?")
            args.append(golden_set)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY run_id DESC", args).fetchall()
        return [SavedRun(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def get(self, run_id: int) -> SavedRun:
        with self._connect() as db:
            row = db.execute(
                "SELECT run_id, created_at, label, collection, golden_set, result FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise InvalidInputError(f"No saved evaluation run #{run_id}: list them with `reranklens eval --list-runs`.")
        return SavedRun(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
