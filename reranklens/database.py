"""The app's shared state (golden sets, saved runs, trace sets, the audit log, job records) in SQL: SQLite files
in the data dir by default, one PostgreSQL database when ``RERANKLENS_DATABASE_URL`` is set.

SQLAlchemy 2 Core (not the ORM) is the one layer: each store declares its tables as ``sqlalchemy.Table`` objects
and writes its SQL once, and the dialect turns it into SQLite's or PostgreSQL's. There is one engine per URL per
process (``engine``), so PostgreSQL connections are pooled (and pinged before use, so the app recovers when the
server comes back) and SQLite files get a fresh connection each time, as before.

SQLite keeps the rules that make concurrent writers safe: several app sessions (threads) and processes (the app,
the CLI) write the same files at once. Switching a new file to WAL and creating its tables race with the first
writers of another connection, and a transaction that starts deferred and then writes can get "database is
locked" without waiting for the busy timeout. So a file is prepared once per process (WAL, then its schema, under
a lock), and every transaction is ``BEGIN IMMEDIATE``: it takes the write lock first, waiting up to
``BUSY_TIMEOUT_S`` for other writers, and ``write`` retries it whole if SQLite still reports the file busy. Reads
run without a transaction (autocommit): WAL readers never wait for writers.

Schema versions: one table, ``schema_versions`` (store name -> version), on both backends. A store's ``Schema``
holds its tables at the newest version and the SQL that upgrades an older database one version at a time; a new
database gets the newest tables at once. Files written before that table existed are read as version
``PRAGMA user_version`` (which SQLite files keep mirroring, so an older RerankLens refuses a newer file). Preparing
runs in one transaction (on PostgreSQL under an advisory lock), so two processes never migrate at once.
Alembic would bring a second configuration, a migrations folder and its own command for a handful of
``ALTER TABLE ... ADD COLUMN`` steps; this keeps the versioned migrations the golden store already had.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from reranklens.config import DATABASE_URL_ENV, database_url_from_env
from reranklens.errors import InvalidInputError, RerankLensError, StoreUnavailableError

logger = logging.getLogger(__name__)

URL_ENV = DATABASE_URL_ENV
BUSY_TIMEOUT_S = 60.0
# SQLite answers "locked" at once, without the busy timeout, where waiting could deadlock (switching a file
# to WAL while another connection writes it); such a step is tried again, with a growing pause, this long.
RETRY_FOR_S = 60.0
CONNECT_TIMEOUT_S = 5  # a PostgreSQL server that does not answer: the page says so after this long
T = TypeVar("T")

VERSIONS = sa.Table(
    "schema_versions",
    sa.MetaData(),
    sa.Column("store", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


@dataclass(frozen=True)
class Schema:
    """One store's tables at ``version``, and ``migrations``: version reached -> SQL (``;``-separated, the
    same for both backends) that gets there from the version before, for databases written by older code."""

    name: str
    metadata: sa.MetaData
    version: int = 1
    migrations: Mapping[int, str] = field(default_factory=dict)


class DatabaseUnavailableError(StoreUnavailableError):
    """The PostgreSQL server of ``RERANKLENS_DATABASE_URL`` cannot be reached."""


_engines: dict[str, Engine] = {}
_prepared: set[tuple[str, str]] = set()
_lock = threading.Lock()  # the engines
_prepare_lock = threading.Lock()  # one store prepared at a time in this process


def normalise_url(url: str, what: str = "RERANKLENS_DATABASE_URL") -> str:
    """``postgresql://`` (and ``postgres://``) mean the psycopg 3 driver; ``sqlite:///`` is a file. One line
    for anything else."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    shown = url.split("://", 1)[0] or url[:20]
    raise InvalidInputError(
        f"{what} must start with postgresql:// (or sqlite:///), got '{shown}://…': fix it"
        + (" or unset it." if what.isupper() else ".")
    )


def url_for(path: Path) -> str:
    """Where a store whose file would be ``path`` lives: the configured database, or that SQLite file."""
    configured = database_url_from_env()
    return normalise_url(configured) if configured else f"sqlite:///{Path(path).resolve()}"


def display(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def engine(url: str) -> Engine:
    """This process's engine for ``url`` (created on first use)."""
    with _lock:
        if url not in _engines:
            _engines[url] = _create_engine(url)
        return _engines[url]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _create_engine(url: str) -> Engine:
    if is_sqlite(url):
        Path(make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
        created = sa.create_engine(
            url,
            poolclass=NullPool,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False, "isolation_level": None},
        )

        @sa.event.listens_for(created, "connect")
        def _on_connect(dbapi: sqlite3.Connection, _record: object) -> None:
            dbapi.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            dbapi.execute("PRAGMA foreign_keys = ON")

        @sa.event.listens_for(created, "begin")
        def _on_begin(connection: Connection) -> None:
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return created
    try:
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
    except ModuleNotFoundError as exc:
        raise InvalidInputError(
            "RERANKLENS_DATABASE_URL names PostgreSQL but its driver is not installed: "
            "pip install 'reranklens[postgres]'."
        ) from exc


@contextmanager
def reading(path: Path, schema: Schema) -> Iterator[Connection]:
    """A connection for reads (no write lock taken), the store's schema prepared."""
    url = url_for(path)
    with _unavailable_as_error(url):
        prepare(url, schema)
        with engine(url).connect() as connection:
            if is_sqlite(url):
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection


@contextmanager
def transaction(path: Path, schema: Schema) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite): committed when the block ends, rolled back on an
    error. Not retried: use ``write`` where the work can be run again."""
    url = url_for(path)
    with _unavailable_as_error(url):
        prepare(url, schema)
        with engine(url).begin() as connection:
            yield connection


def write(path: Path, work: Callable[[Connection], T], schema: Schema) -> T:
    """Run ``work`` in one write transaction, retried whole while SQLite reports the file busy."""

    def attempt() -> T:
        with transaction(path, schema) as connection:
            return work(connection)

    return _retry_locked(attempt, f"writing {schema.name}")


def prepare(url: str, schema: Schema) -> None:
    """Create or migrate ``schema`` in ``url`` once per process (again if a SQLite file was emptied since)."""
    key = (url, schema.name)
    if key in _prepared and not _emptied(url):
        return
    with _prepare_lock:
        if key in _prepared and not _emptied(url):
            return
        if is_sqlite(url):
            _retry_locked(lambda: _wal(url), "switching to WAL")
        _retry_locked(lambda: _migrate(url, schema), f"preparing {schema.name}")
        _prepared.add(key)


def check() -> None:
    """``DatabaseUnavailableError`` when the configured server database cannot be reached now (SQLite files:
    nothing to check). A page calls it first, so an outage is one line at the top, not an error deep in a view."""
    configured = database_url_from_env()
    if not configured:
        return
    url = normalise_url(configured)
    with _unavailable_as_error(url), engine(url).connect() as connection:
        connection.exec_driver_sql("SELECT 1")


def version(path: Path, schema: Schema) -> int:
    """The schema version the store's database holds."""
    with reading(path, schema) as connection:
        query = sa.select(VERSIONS.c.version).where(VERSIONS.c.store == schema.name)
        return int(connection.execute(query).scalar_one())


def _emptied(url: str) -> bool:
    """A SQLite file deleted and made anew has no schema; a server database is never emptied under us."""
    if not is_sqlite(url):
        return False
    with engine(url).connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection.exec_driver_sql("PRAGMA schema_version").scalar_one() == 0


def _wal(url: str) -> None:
    with engine(url).connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("PRAGMA journal_mode = WAL")


def _migrate(url: str, schema: Schema) -> None:
    with engine(url).begin() as connection:
        if not is_sqlite(url):
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(b"reranklens")})
        VERSIONS.create(connection, checkfirst=True)
        found = connection.execute(sa.select(VERSIONS.c.version).where(VERSIONS.c.store == schema.name)).scalar()
        tables = sa.inspect(connection).get_table_names()
        if found is None:
            # Written before this table existed: by a RerankLens that kept the version (if any) in
            # PRAGMA user_version, or by none at all (then the newest tables are created).
            legacy = int(connection.exec_driver_sql("PRAGMA user_version").scalar_one()) if is_sqlite(url) else 0
            if legacy or any(table in tables for table in schema.metadata.tables):
                found = max(legacy, 1)
            else:
                schema.metadata.create_all(connection)
                found = schema.version
            connection.execute(VERSIONS.insert().values(store=schema.name, version=found))
        if found > schema.version:
            raise RerankLensError(
                f"{display(url)} was written by a newer RerankLens (schema {found} > {schema.version}): upgrade."
            )
        for target in range(found + 1, schema.version + 1):
            for statement in schema.migrations[target].split(";"):
                if statement.strip():
                    connection.exec_driver_sql(statement)
        if found != schema.version:
            connection.execute(VERSIONS.update().where(VERSIONS.c.store == schema.name).values(version=schema.version))
        if is_sqlite(url):
            connection.exec_driver_sql(f"PRAGMA user_version = {int(schema.version)}")


def _busy(error: BaseException) -> bool:
    original = getattr(error, "orig", error)
    text = str(original)
    return isinstance(original, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _retry_locked(action: Callable[[], T], what: str) -> T:
    deadline = time.monotonic() + RETRY_FOR_S
    pause = 0.02
    while time.monotonic() < deadline:
        try:
            return action()
        except (sqlite3.OperationalError, sa_exc.OperationalError) as error:
            if not _busy(error):
                raise
            logger.debug("%s: %s; trying again in %.2f s", what, error, pause)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
    return action()


@contextmanager
def _unavailable_as_error(url: str) -> Iterator[None]:
    """A server that cannot be reached is one line on the page; the pool's pre-ping reconnects once it is back."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as error:
        if is_sqlite(url) or not _connection_lost(error):
            raise
        raise DatabaseUnavailableError(
            f"The database at {display(url)} cannot be reached ({_first_line(error)}): start it or fix "
            "RERANKLENS_DATABASE_URL; RerankLens reconnects by itself once it is back."
        ) from error


def _connection_lost(error: sa_exc.DBAPIError) -> bool:
    return (
        bool(error.connection_invalidated)
        or error.orig is None
        or type(error.orig).__name__
        in (
            "OperationalError",
            "InterfaceError",
        )
    )


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def copy(sources: Sequence[tuple[str, Schema]], target: str) -> list[tuple[str, int, int]]:
    """Copy every table of each (source URL, schema) into the empty database ``target``; (table, rows read,
    rows in the target afterwards) per table.

    Refused in one line when the target holds any row of these tables. The copy is one transaction on the
    target: all tables or none. Identity sequences on PostgreSQL are moved past the copied ids.
    """
    for url, schema in sources:
        prepare(url, schema)
        prepare(target, schema)
    counts: list[tuple[str, int, int]] = []
    with _unavailable_as_error(target), engine(target).begin() as into:
        for _, schema in sources:
            for table in schema.metadata.sorted_tables:
                if into.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                    raise InvalidInputError(
                        f"{display(target)} is not empty (table {table.name} has rows): copy into an empty database."
                    )
        for url, schema in sources:
            with engine(url).connect() as out:
                for table in schema.metadata.sorted_tables:
                    rows = 0
                    result = out.execute(sa.select(table)).mappings()
                    while batch := result.fetchmany(1000):
                        into.execute(table.insert(), [dict(row) for row in batch])
                        rows += len(batch)
                    copied = into.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                    counts.append((table.name, rows, int(copied)))
                    _move_sequences(into, table)
    return counts


def _move_sequences(connection: Connection, table: sa.Table) -> None:
    if connection.dialect.name != "postgresql":
        return
    column = table.autoincrement_column
    if column is not None:
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
            )
        )


def dispose() -> None:
    """Close every pooled connection (tests, and a process about to fork)."""
    with _lock:
        for created in _engines.values():
            created.dispose()
        _engines.clear()
        _prepared.clear()


def insert_ignoring(connection: Connection, table: sa.Table) -> sa.Insert:
    """``INSERT`` that skips a row whose key exists, on either backend. Add ``.returning(...)`` to learn whether it
    did: no row comes back for a skipped one (psycopg reports no ``rowcount`` for it)."""
    return _dialect_insert(connection, table).on_conflict_do_nothing()


def upsert(connection: Connection, table: sa.Table, row: Mapping[str, object]) -> None:
    """Insert ``row``, or replace the non-key columns of the row with its primary key."""
    statement = _dialect_insert(connection, table).values(**row)
    keys = [column.name for column in table.primary_key.columns]
    changed = {name: statement.excluded[name] for name in row if name not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=changed))


def _dialect_insert(connection: Connection, table: sa.Table):  # noqa: ANN202 - sqlite's or postgresql's Insert
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
