"""What every ``reranklens`` command shares: exit codes, the first-run demo, progress and ingest reports.

Command modules import this one; it imports none of them (so there is no import loop).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.types import IngestReport

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

EXIT_OK, EXIT_ERROR, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 130


def count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 query", "2 queries", "0 judgements"."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1] + 'ies' if noun.endswith('y') and noun[-2:-1] not in 'aeiou' else noun + 's'}"


def ensure_demo(workspace: Workspace, collection: str) -> None:
    """Ingest the bundled demo when a command works on ``demo`` in a data dir that never had it; a command
    on any other collection never waits for it."""
    if collection == DEMO_COLLECTION and workspace.demo_pending():
        print("First run: ingesting the bundled Acme Cloud demo into collection 'demo'...", file=sys.stderr)
        with ProgressBar(False) as bar:
            workspace.ingest_demo(bar.update)


def print_report(report: IngestReport) -> None:
    print(
        f"Collection '{report.collection}': {count(report.documents, 'document')}, "
        f"{count(report.chunks_total, 'chunk')} "
        f"({report.chunks_added} added, {report.chunks_removed} removed) in {report.seconds:.1f} s "
        f"({report.chunks_per_second:.0f} chunks/s)."
    )
    if report.golden_set:
        print(
            f"Golden set '{report.golden_set}': {count(report.golden_queries, 'query')}, "
            f"{count(report.golden_judgements, 'judgement')} imported."
        )
    if report.golden_renamed_from:
        print(
            f"A different golden set '{report.golden_renamed_from}' already exists and was kept: "
            f"imported as '{report.golden_set}'."
        )


class ProgressBar:
    """A tqdm bar on stderr (chunks and chunks/s), silent when output must stay machine-readable."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent or not sys.stderr.isatty() and os.environ.get("RERANKLENS_PROGRESS") != "1"
        self.bar: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def update(self, done: int, total: int) -> None:
        if self.silent:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
