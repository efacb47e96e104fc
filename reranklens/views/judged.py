"""An Explore view read against a golden set: each candidate's grade, the unjudged ones in a top-k, and where
the best-graded chunk sits before and after.

A person debugging a ranking wants to see *whether the right chunk moved up*, not only what moved. The
judgements come from the same store the Label page writes. A document-level grade (BEIR qrels are per
document) applies to every chunk of that document, and says so (``level == "doc"``); a chunk's own grade
wins over its document's. The per-query figures are added by ``reranklens.evaluate.judged`` (the same
code as Evaluate); this module knows nothing about metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reranklens.views.explore import ExploreView, ViewRow

if TYPE_CHECKING:  # types only: the store's SQL layer is not a plain query's import
    from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement, Level

FIGURES = ("nDCG@10", "R@3", "RR@10", "Hit@3")


@dataclass(frozen=True)
class Grade:
    """A candidate's grade (0-3) and whether it was given to this chunk or to its whole document."""

    grade: int
    level: Level

    def badge(self) -> str:
        """Short text for a badge: "grade 3", or "grade 2 · doc" for a document-level judgement."""
        return f"grade {self.grade}" + (" · doc" if self.level == "doc" else "")


@dataclass(frozen=True)
class BestGraded:
    """The best-graded chunk among the candidates (ties: the one ranked highest after, then before);
    ``row`` is None when no candidate carries the query's best grade (the first stage missed it)."""

    grade: int
    target: str
    level: Level
    row: ViewRow | None
    candidates: int

    def line(self) -> str:
        """``Best-graded chunk: #12 → #3 (grade 3, …)`` or ``… not among the 50 candidates``."""
        where = f"{self.level}-level grade {self.grade}: {self.target}"
        if self.row is None:
            return f"Best-graded chunk: not among the {self.candidates} candidates ({where})"
        before = f"#{self.row.left_rank}" if self.row.left_rank is not None else "—"
        after = f"#{self.row.right_rank}" if self.row.right_rank is not None else "—"
        return f"Best-graded chunk: {before} → {after} ({where})"


@dataclass(frozen=True)
class JudgedView:
    """``view`` with the grades ``golden_set`` holds for its query. ``query`` is None when the set does not
    hold the query ("not judged in SET"). ``metrics`` is ``{"before": {...}, "after": {...}}`` keyed by
    ``FIGURES``, or None when there is no relevant label to score against; ``metrics_level`` says at which
    level the figures were scored."""

    golden_set: str
    query: GoldenQuery | None
    grades: dict[str, Grade] = field(default_factory=dict)
    unjudged: frozenset[str] = frozenset()
    best: BestGraded | None = None
    metrics: dict[str, dict[str, float]] | None = None
    metrics_level: Level | None = None

    @property
    def judged(self) -> bool:
        return self.query is not None

    def grade_of(self, chunk_id: str) -> Grade | None:
        return self.grades.get(chunk_id)

    def badge(self, chunk_id: str) -> str:
        """The badge text for a chunk: its grade, "unjudged" in a top-k, or "" (nothing to mark)."""
        grade = self.grades.get(chunk_id)
        if grade is not None:
            return grade.badge()
        return "unjudged" if chunk_id in self.unjudged else ""

    def not_judged_line(self) -> str:
        return f"not judged in {self.golden_set}"


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def match_query(golden: GoldenStore, golden_set: str, text: str, trace_id: str | None = None) -> GoldenQuery | None:
    """The query of ``golden_set`` that ``text`` is, matched as Evaluate matches a trace to a golden query:
    the query whose id is ``trace_id`` (a replayed trace), else the one with the same words (ignoring case
    and spacing); None when the set does not hold it (or no longer exists)."""
    if golden_set not in golden.names():
        return None
    found = golden.find_query(golden_set, text)
    if found is not None and trace_id is None:
        return found
    wanted = normalised(text)
    queries = golden.query_list(golden_set)
    by_id = next((q for q in queries if trace_id is not None and q.query_id == trace_id), None)
    return by_id or found or next((q for q in queries if normalised(q.text) == wanted), None)


def sets_holding(golden: GoldenStore, text: str, trace_id: str | None = None) -> list[str]:
    """The golden sets that hold this query (``match_query``), those with a relevant grade for it first."""
    holding = []
    for name in golden.names():
        query = match_query(golden, name, text, trace_id)
        if query is not None:
            relevant = any(j.grade > 0 for j in golden.judgements(name, query.query_id))
            holding.append((not relevant, name))
    return [name for _, name in sorted(holding)]


def judge_view(view: ExploreView, golden: GoldenStore, golden_set: str, trace_id: str | None = None) -> JudgedView:
    """Grades of ``golden_set`` for ``view``'s candidates (figures not included: see
    ``reranklens.evaluate.judged.judged_view``)."""
    query = match_query(golden, golden_set, view.query, trace_id)
    if query is None:
        return JudgedView(golden_set, None)
    judgements = golden.judgements(golden_set, query.query_id)
    chunk_grades = {j.target_id: j.grade for j in judgements if j.level == "chunk"}
    doc_grades = {j.target_id: j.grade for j in judgements if j.level == "doc"}
    grades: dict[str, Grade] = {}
    for row in view.rows:
        chunk = row.chunk
        if chunk.chunk_id in chunk_grades:
            grades[chunk.chunk_id] = Grade(chunk_grades[chunk.chunk_id], "chunk")
        elif chunk.doc_id in doc_grades:
            grades[chunk.chunk_id] = Grade(doc_grades[chunk.doc_id], "doc")
    unjudged = frozenset(
        r.chunk.chunk_id for r in view.rows if r.status != "outside" and r.chunk.chunk_id not in grades
    )
    return JudgedView(golden_set, query, grades, unjudged, _best(view, judgements, grades))


def _best(view: ExploreView, judgements: list[Judgement], grades: dict[str, Grade]) -> BestGraded | None:
    relevant = [j for j in judgements if j.grade > 0]
    if not relevant:
        return None
    top = max(j.grade for j in relevant)
    rows = [r for r in view.rows if (g := grades.get(r.chunk.chunk_id)) is not None and g.grade == top]
    candidates = len(view.left.hits)
    if not rows:
        # Name a chunk-level target first: it is the more precise answer.
        missing = sorted((j for j in relevant if j.grade == top), key=lambda j: (j.level != "chunk", j.target_id))[0]
        return BestGraded(top, missing.target_id, missing.level, None, candidates)
    row = min(rows, key=lambda r: (r.right_rank is None, r.right_rank or 0, r.left_rank or 0))
    grade = grades[row.chunk.chunk_id]
    target = row.chunk.chunk_id if grade.level == "chunk" else row.chunk.doc_id
    return BestGraded(top, target, grade.level, row, candidates)
