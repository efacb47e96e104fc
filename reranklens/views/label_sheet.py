"""What the Label page shows for one query: every candidate worth judging, with its grades.

The list is the union of both rankings of the Explore view (vector top-N and reranked top-N, or
hybrid when no reranker loads), so a chunk that dropped out of the top-k can still be judged.
Chunk-level grades are the person's; a doc-level grade (as imported BEIR qrels are) is shown for
every chunk of that document. Chunk labels whose chunk no longer exists are returned as orphans.
"""

from __future__ import annotations

from dataclasses import dataclass

from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement
from reranklens.views.explore import ExploreView, ViewRow


@dataclass(frozen=True)
class LabelCandidate:
    row: ViewRow
    grade: int | None
    doc_grade: int | None
    in_top_k: bool

    @property
    def unjudged_in_top_k(self) -> bool:
        """In either top-k and graded neither at chunk nor at document level: judge this first."""
        return self.in_top_k and self.grade is None and self.doc_grade is None


@dataclass(frozen=True)
class LabelSheet:
    golden_set: str
    query: GoldenQuery | None
    candidates: tuple[LabelCandidate, ...]
    orphans: tuple[Judgement, ...]

    @property
    def unjudged_in_top_k(self) -> int:
        return sum(c.unjudged_in_top_k for c in self.candidates)

    @property
    def judged(self) -> int:
        return sum(c.grade is not None for c in self.candidates)


def label_sheet(view: ExploreView, golden: GoldenStore, golden_set: str, existing_chunk_ids: set[str]) -> LabelSheet:
    """Candidates of ``view`` in reranked order, with the grades ``golden_set`` holds for its query.

    ``existing_chunk_ids`` are the chunk ids (among this query's chunk labels) still present in the
    collection; the others are orphans: kept, shown, never deleted.
    """
    query = golden.find_query(golden_set, view.query) if golden_set in golden.names() else None
    judgements = golden.judgements(golden_set, query.query_id) if query else []
    chunk_grades = {j.target_id: j.grade for j in judgements if j.level == "chunk"}
    doc_grades = {j.target_id: j.grade for j in judgements if j.level == "doc"}
    rows = view.right_rows() + [r for r in view.rows if r.right_rank is None]
    candidates = tuple(
        LabelCandidate(
            row=row,
            grade=chunk_grades.get(row.chunk.chunk_id),
            doc_grade=doc_grades.get(row.chunk.doc_id),
            in_top_k=row.status != "outside",
        )
        for row in rows
    )
    orphans = tuple(j for j in judgements if j.level == "chunk" and j.target_id not in existing_chunk_ids)
    return LabelSheet(golden_set=golden_set, query=query, candidates=candidates, orphans=orphans)
