"""Who changed what on a shared server, and when: one table (``audit.sqlite`` in the data dir, or the
``audit`` table of the configured database: reranklens.database).

Recorded by the app for the actions that change what everyone sees: ingest, delete, attach (and detach),
connect (and disconnect) a live retriever, import traces, train, add (or remove) a model, change the default
reranker; ``reranklens attach``/``detach`` and ``connect``/``disconnect`` too.
Writes are single transactions (reranklens.database), so concurrent sessions never lose an entry; entries are
only ever added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import sqlalchemy as sa

from reranklens import database
from reranklens.access.hosts import url_host
from reranklens.errors import InvalidInputError

AUDIT_FILE = "audit.sqlite"
MASK = "••••"  # a secret's place in a line (header values of live retrievers)
Action = Literal[
    "ingest",
    "delete",
    "attach",
    "detach",
    "connect",
    "disconnect",
    "import traces",
    "train",
    "add model",
    "remove model",
    "set default",
]
ACTIONS: tuple[str, ...] = get_args(Action)
_METADATA = sa.MetaData()
AUDIT = sa.Table(
    "audit",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sqlite_autoincrement=True,
)
SCHEMA = database.Schema("audit", _METADATA)


def attach_detail(collection: str, chunks: int) -> str:
    """What an attach entry says besides the name: their collection and its size, never the source (a
    server path, or a URL that may carry a password, shown to every visitor of the Corpus page)."""
    return f"their collection {collection}, {chunks} chunks, read-only"


def connect_detail(url: str, header_names: Sequence[str]) -> str:
    """What a connect entry says besides the name: the host and the header *names* only (a path or query
    string may hold a token; header values are secrets)."""
    headers = ", ".join(f"{name}: {MASK}" for name in header_names)
    return f"live retriever at {url_host(url)}" + (f", headers {headers}" if headers else "")


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
        row = {"at": entry.at, "who": entry.who, "action": entry.action, "target": entry.target}
        database.write(self.path, lambda db: db.execute(AUDIT.insert().values(**row, detail=entry.detail)), SCHEMA)
        return entry

    def entries(self, limit: int = 200) -> list[AuditEntry]:
        if database.is_sqlite(database.url_for(self.path)) and not self.path.exists():
            return []
        columns = (AUDIT.c.at, AUDIT.c.who, AUDIT.c.action, AUDIT.c.target, AUDIT.c.detail)
        with database.reading(self.path, SCHEMA) as db:
            rows = db.execute(sa.select(*columns).order_by(AUDIT.c.id.desc()).limit(limit)).all()
        return [AuditEntry(*row) for row in rows]
