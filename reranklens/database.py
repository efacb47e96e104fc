"""SQLite connections for the data dir's stores (golden sets, saved runs, trace sets, the audit log).

Several app sessions (threads) and processes (the app, the CLI) write the same files at once. Two things lose
writes when each connection does them on its own: switching a new file to WAL mode and creating its tables
race with the first writers of another connection, and a transaction that starts deferred and then writes can
get "database is locked" without waiting for the busy timeout. So a file is prepared once per process (WAL, then
its schema, under a lock), and every write is a ``BEGIN IMMEDIATE`` transaction: it takes the write lock first,
waiting up to ``BUSY_TIMEOUT_S`` for other writers, and is retried whole if SQLite still reports the file busy.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 60.0
# SQLite answers "locked" at once, without the busy timeout, where waiting could deadlock (switching a file
# to WAL while another connection writes it); such a step is tried again, with a growing pause, this long.
RETRY_FOR_S = 60.0
Setup = Callable[[sqlite3.Connection], None]

_prepared: set[Path] = set()
_prepare_lock = threading.Lock()


def connect(path: Path, setup: Setup | None = None) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit: ``write``), the file prepared once.

    ``setup`` creates or migrates the schema; it runs inside one ``BEGIN IMMEDIATE`` transaction, once per
    file per process, so it must be idempotent across processes (``CREATE TABLE IF NOT EXISTS``, versioned
    migrations).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        key = path.resolve()
        if _needs_preparing(db, key):
            with _prepare_lock:
                if _needs_preparing(db, key):
                    _retry_locked(lambda: _prepare(db, setup), f"preparing {path.name}")
                    _prepared.add(key)
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def reading(path: Path, setup: Setup | None = None) -> Iterator[sqlite3.Connection]:
    """A connection for reads, closed afterwards; WAL readers never wait for writers."""
    db = connect(path, setup)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on ``db``: committed when the block ends, rolled back on an error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def write(path: Path, work: Callable[[sqlite3.Connection], object], setup: Setup | None = None) -> object:
    """Run ``work`` in one write transaction on ``path``, retried whole while the file is reported busy."""

    def attempt() -> object:
        with reading(path, setup) as db, transaction(db):
            return work(db)

    return _retry_locked(attempt, f"writing {Path(path).name}")


def _needs_preparing(db: sqlite3.Connection, key: Path) -> bool:
    """Not yet prepared by this process, or emptied since (a file deleted and made anew has no schema)."""
    return key not in _prepared or db.execute("PRAGMA schema_version").fetchone()[0] == 0


def _prepare(db: sqlite3.Connection, setup: Setup | None) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    if setup is not None:
        with transaction(db):
            setup(db)


def _retry_locked(action: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + RETRY_FOR_S
    pause = 0.02
    while time.monotonic() < deadline:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            logger.debug("%s: %s; trying again in %.2f s", what, error, pause)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
    return action()
