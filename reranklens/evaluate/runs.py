"""Saved evaluation runs (``runs.sqlite`` in the data dir, or the configured database), so today's model can be
compared with yesterday's.

A run is stored whole as JSON (``EvalResult.to_json``): runs are written once and read back for
comparison, never queried field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reranklens import database
from reranklens.errors import InvalidInputError

_METADATA = sa.MetaData()
RUNS = sa.Table(
    "runs",
    _METADATA,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("collection", sa.Text, nullable=False),
    sa.Column("golden_set", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
SCHEMA = database.Schema("runs", _METADATA)
_COLUMNS = (RUNS.c.run_id, RUNS.c.created_at, RUNS.c.label, RUNS.c.collection, RUNS.c.golden_set, RUNS.c.result)


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

    def save(self, result: dict[str, Any], label: str = "") -> int:
        row = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "label": label,
            "collection": result["collection"],
            "golden_set": result["golden_set"],
            "result": json.dumps(result),
        }
        with database.transaction(self.path, SCHEMA) as db:
            return int(db.execute(RUNS.insert().values(**row).returning(RUNS.c.run_id)).scalar_one())

    def list(self, collection: str | None = None, golden_set: str | None = None) -> list[SavedRun]:
        query = sa.select(*_COLUMNS).order_by(RUNS.c.run_id.desc())
        if collection:
            query = query.where(RUNS.c.collection == collection)
        if golden_set:
            query = query.where(RUNS.c.golden_set == golden_set)
        with database.reading(self.path, SCHEMA) as db:
            rows = db.execute(query).all()
        return [SavedRun(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def get(self, run_id: int) -> SavedRun:
        with database.reading(self.path, SCHEMA) as db:
            row = db.execute(sa.select(*_COLUMNS).where(RUNS.c.run_id == run_id)).first()
        if row is None:
            raise InvalidInputError(f"No saved evaluation run #{run_id}: list them with `reranklens eval --list-runs`.")
        return SavedRun(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
