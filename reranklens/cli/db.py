"""``reranklens db copy --to postgresql://...``: move a data dir's SQLite state (golden sets and judgements,
saved runs, trace sets, the audit log, job records) into an empty database, for running the app as a team on
PostgreSQL (``RERANKLENS_DATABASE_URL``).

The copy reads the data dir's files whatever ``RERANKLENS_DATABASE_URL`` says (a file that does not exist
counts as empty), writes the target in one transaction, and prints the rows of each table on both sides;
it fails when they differ or when the target already holds rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from reranklens import database
from reranklens.access.audit import AUDIT_FILE
from reranklens.access.audit import SCHEMA as AUDIT_SCHEMA
from reranklens.access.jobs import JOBS_FILE
from reranklens.access.jobs import SCHEMA as JOBS_SCHEMA
from reranklens.errors import RerankLensError
from reranklens.evaluate.runs import SCHEMA as RUNS_SCHEMA
from reranklens.golden.store import SCHEMA as GOLDEN_SCHEMA
from reranklens.retrieve.traces import SCHEMA as TRACES_SCHEMA

if TYPE_CHECKING:
    from reranklens.config import Settings
    from reranklens.workspace import Workspace


def add_db_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``db`` (with ``db copy``) on the top-level subparsers."""
    db = commands.add_parser("db", help="the shared state's database (golden sets, runs, traces, audit, jobs)")
    actions = db.add_subparsers(dest="db_command", required=True)
    copy = actions.add_parser("copy", help="copy the data dir's SQLite state into an empty PostgreSQL database")
    copy.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql://user@host/reranklens")
    copy.set_defaults(handler=cmd_copy)


def data_dir_stores(settings: Settings) -> list[tuple[Path, database.Schema]]:
    """Each store's SQLite file in the data dir, with its schema."""
    return [
        (settings.golden_db_path, GOLDEN_SCHEMA),
        (settings.runs_db_path, RUNS_SCHEMA),
        (settings.traces_db_path, TRACES_SCHEMA),
        (settings.data_dir / AUDIT_FILE, AUDIT_SCHEMA),
        (settings.data_dir / JOBS_FILE, JOBS_SCHEMA),
    ]


def cmd_copy(workspace: Workspace, args: argparse.Namespace) -> int:
    target = database.normalise_url(args.to, "--to")
    sources = [
        (f"sqlite:///{path.resolve()}", schema) for path, schema in data_dir_stores(workspace.settings) if path.exists()
    ]
    counts = {name: (source, copied) for name, source, copied in database.copy(sources, target)}
    width = max((len(name) for name in counts), default=5)
    print(f"{'table':<{width}}  {'data dir':>10}  {'target':>10}")
    for name, (source, copied) in counts.items():
        print(f"{name:<{width}}  {source:>10}  {copied:>10}")
    if any(source != copied for source, copied in counts.values()):
        raise RerankLensError(f"The row counts differ: check {database.display(target)} before using it.")
    total = sum(source for source, _ in counts.values())
    print(f"copied {total} rows from {workspace.settings.data_dir} into {database.display(target)}")
    return 0
