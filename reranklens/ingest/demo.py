"""The bundled Acme Cloud demo: its collection and golden sets, and whether a data dir still needs them.

A new data dir has nothing to search; the app (and ``reranklens demo``) ingests the demo so a first
visitor sees a before/after at once. A marker file remembers that it was ingested, so a user who deleted
the demo afterwards is not overruled.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reranklens.config import DEMO_DIR
from reranklens.types import IngestReport

if TYPE_CHECKING:
    from reranklens.golden.store import GoldenStore
    from reranklens.retrieve.store import VectorStore

DEMO_COLLECTION = "demo"
DEMO_DOCS = DEMO_DIR / "docs"
DEMO_GOLDEN_SET = "demo"
# Queries that vector search gets wrong for reasons a stakeholder recognises; each says why in its note.
DEMO_HARD_SET = "demo-hard"
DEMO_MARKER = ".demo-ingested"


def demo_pending(data_dir: Path, store: VectorStore) -> bool:
    """True on first start: the demo was never ingested into this data dir (``reranklens demo`` brings
    back a demo its user deleted; nothing else does)."""
    return not (data_dir / DEMO_MARKER).exists() and not store.exists(DEMO_COLLECTION)


def import_demo_golden_sets(golden: GoldenStore, data_dir: Path, report: IngestReport) -> IngestReport:
    """After the demo docs are ingested: store the golden sets ``demo`` and ``demo-hard``, mark the data dir
    as having had its demo, and return ``report`` with the ``demo`` set's counts."""
    # Imported here: every command asks whether the demo is pending, few import it (the golden formats and
    # their SQL layer are ~0.3 s of a cold query's imports).
    from reranklens.golden.beir import read_beir_judgements
    from reranklens.golden.formats import import_set

    judgements = read_beir_judgements(DEMO_DIR / "golden")
    if judgements is not None:
        queries, qrels = judgements
        info = golden.replace_set(DEMO_GOLDEN_SET, queries, qrels, level="doc", source="data/demo/golden")
        report = replace(report, golden_set=info.name, golden_queries=info.queries, golden_judgements=info.judgements)
    import_set(golden, DEMO_DIR / "golden-hard", DEMO_HARD_SET, "beir")
    marker = data_dir / DEMO_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return report
