"""Who changed what on a shared server, and when: one SQLite table in the data dir (``audit.sqlite``).

Recorded by the app for the actions that change what everyone sees: ingest, delete, attach (and detach),
import traces, train, add (or remove) a model, change the default reranker; ``reranklens attach``/``detach`` too.
Writes are single transactions (reranklens.database), so concurrent sessions never lose an entry; entries are
only ever added.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from reranklens import database
from reranklens.errors import InvalidInputError

AUDIT_FILE = "audit.sqlite"
Action = Literal[
    "ingest", "delete", "attach", "detach", "import traces", "train", "add model", "remove model", "set default"
]
ACTIONS: tuple[str, ...] = get_args(Action)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
)
"""


def attach_detail(collection: str, chunks: int) -> str:
    """What an attach entry says besides the name: their collection and its size, never the source (a
    server path, or a URL that may carry a password, shown to every visitor of the Corpus page)."""
    return f"their collection {collection}, {chunks} chunks, read-only"


def _create_table(db: sqlite3.Connection) -> None:
    db.execute(_SCHEMA)


@dataclass(frozen=True)
class AuditEntry:
    at: str  # ISO 8601, UTC, seconds
    who: str
    action: str
    target: str
    detail: str = ""


class AuditLog:
    """Append-only list of who did what; ``entries()`` gives the newest first."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / AUDIT_FILE

    def record(self, who: str, action: Action, target: str, detail: str = "") -> AuditEntry:
        """Add one entry (``who``: the signed-in address, or "local" without sign-in)."""
        if action not in ACTIONS:
            raise InvalidInputError(f"Unknown audit action '{action}': one of {', '.join(ACTIONS)}.")
        entry = AuditEntry(datetime.now(UTC).isoformat(timespec="seconds"), who or "local", action, target, detail)
        database.write(
            self.path,
            lambda db: db.execute(
                "INSERT INTO audit (at, who, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                (entry.at, entry.who, entry.action, entry.target, entry.detail),
            ),
            _create_table,
        )
        return entry

    def entries(self, limit: int = 200) -> list[AuditEntry]:
        if not self.path.exists():
            return []
        with database.reading(self.path, _create_table) as db:
            rows = db.execute(
                "SELECT at, who, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [AuditEntry(*row) for row in rows]
