"""What the Label page shows for one query: every candidate worth judging, with its grades.

The list is the union of both rankings of the Explore view (vector top-N and reranked top-N, or
hybrid when no reranker loads), so a chunk that dropped out of the top-k can still be judged.
Chunk-level grades are the set's (its consensus over people); given the labeler, each candidate also
carries that person's own grade and the other people's judgements, so a team labels side by side. A
doc-level grade (as imported BEIR qrels are) is shown for every chunk of that document. Chunk labels whose
chunk no longer exists are returned as orphans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reranklens.views.explore import ExploreView, ViewRow

if TYPE_CHECKING:  # types only: the store's SQL layer is not a plain query's import
    from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement


@dataclass(frozen=True)
class LabelCandidate:
    row: ViewRow
    grade: int | None
    doc_grade: int | None
    in_top_k: bool
    mine: int | None = None  # the labeler's own chunk-level grade
    others: tuple[Judgement, ...] = ()  # other people's chunk-level judgements, oldest first

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


def label_sheet(
    view: ExploreView, golden: GoldenStore, golden_set: str, existing_chunk_ids: set[str], who: str | None = None
) -> LabelSheet:
    """Candidates of ``view`` in reranked order, with the grades ``golden_set`` holds for its query.

    ``existing_chunk_ids`` are the chunk ids (among this query's chunk labels) still present in the
    collection; the others are orphans: kept, shown, never deleted. With ``who``, each candidate also
    holds that person's grade and the others' judgements.
    """
    query = golden.find_query(golden_set, view.query) if golden_set in golden.names() else None
    judgements = golden.judgements(golden_set, query.query_id) if query else []
    people = golden.person_judgements(golden_set, query.query_id) if query and who is not None else []
    mine = {j.target_id: j.grade for j in people if j.level == "chunk" and j.who == who}
    others: dict[str, list[Judgement]] = {}
    for j in people:
        if j.level == "chunk" and j.who != who:
            others.setdefault(j.target_id, []).append(j)
    chunk_grades = {j.target_id: j.grade for j in judgements if j.level == "chunk"}
    doc_grades = {j.target_id: j.grade for j in judgements if j.level == "doc"}
    rows = view.right_rows() + [r for r in view.rows if r.right_rank is None]
    candidates = tuple(
        LabelCandidate(
            row=row,
            grade=chunk_grades.get(row.chunk.chunk_id),
            doc_grade=doc_grades.get(row.chunk.doc_id),
            in_top_k=row.status != "outside",
            mine=mine.get(row.chunk.chunk_id),
            others=tuple(others.get(row.chunk.chunk_id, ())),
        )
        for row in rows
    )
    orphans = tuple(j for j in judgements if j.level == "chunk" and j.target_id not in existing_chunk_ids)
    return LabelSheet(golden_set=golden_set, query=query, candidates=candidates, orphans=orphans)


@dataclass(frozen=True)
class SetProgress:
    """How far a golden set's queries are labelled on the Label page, in the set's order.

    A query counts as judged once it has at least one chunk-level grade (a person's label); a
    document-level grade alone (as imported BEIR qrels are) does not, so an imported set can
    still be worked through chunk by chunk.
    """

    queries: tuple[GoldenQuery, ...]
    judged_ids: frozenset[str]

    @property
    def judged(self) -> int:
        return sum(q.query_id in self.judged_ids for q in self.queries)

    def neighbour_unjudged(self, current: str, step: int) -> GoldenQuery | None:
        """The next (``step=1``) or previous (``step=-1``) unjudged query after ``current`` (its text),
        wrapping around the set; None when no other query is unjudged. A ``current`` that is not in
        the set starts from before the first query (Next) or after the last (Previous).

        >>> p = SetProgress((GoldenQuery("a", "A", ""), GoldenQuery("b", "B", ""), GoldenQuery("c", "C", "")),
        ...                 frozenset({"b"}))
        >>> p.neighbour_unjudged("A", 1).text, p.neighbour_unjudged("A", -1).text
        ('C', 'C')
        """
        if step not in (1, -1):
            raise ValueError("step is 1 (next) or -1 (previous)")
        texts = [q.text for q in self.queries]
        wanted = " ".join(current.split())
        here = texts.index(wanted) if wanted in texts else (-1 if step == 1 else len(texts))
        for offset in range(1, len(texts) + 1):
            query = self.queries[(here + step * offset) % len(texts)]
            if query.text != wanted and query.query_id not in self.judged_ids:
                return query
        return None


def set_progress(golden: GoldenStore, golden_set: str) -> SetProgress:
    """The queries of ``golden_set`` and which of them hold a chunk-level grade (empty for a new set)."""
    if golden_set not in golden.names():
        return SetProgress((), frozenset())
    judged = frozenset(j.query_id for j in golden.judgements(golden_set) if j.level == "chunk")
    return SetProgress(tuple(golden.query_list(golden_set)), judged)
