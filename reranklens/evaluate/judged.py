"""One query's figures (nDCG@10, R@3, RR@10, Hit@3) before and after, for an Explore view with a golden set.

They come from the code Evaluate uses (``ranking_to_run`` and ``score_runs``, ir-measures underneath), so
for one query they equal ``reranklens eval`` on a golden set that holds only that query. Level: chunk when
the query has a relevant chunk-level label, else document (each document ranked where its best chunk is),
which is what Evaluate's ``auto`` picks for such a one-query set. A query without any relevant label gets
no figures (Evaluate skips it too). The "after" ranking is the view's right column in its order; chunks
that could not be reranked (a logged candidate without text) are left out of it, as Evaluate does.
"""

from __future__ import annotations

from dataclasses import replace

from reranklens.evaluate.pipelines import ranking_to_run, score_runs
from reranklens.golden.store import GoldenStore, Level
from reranklens.views.explore import ExploreView
from reranklens.views.judged import FIGURES, JudgedView, judge_view


def judged_view(view: ExploreView, golden: GoldenStore, golden_set: str, trace_id: str | None = None) -> JudgedView:
    """``view``'s grades in ``golden_set`` and the query's figures before and after (see the module doc)."""
    judged = judge_view(view, golden, golden_set, trace_id)
    if judged.query is None:
        return judged
    qid = judged.query.query_id
    judgements = golden.judgements(golden_set, qid)
    level: Level = "chunk" if any(j.level == "chunk" and j.grade > 0 for j in judgements) else "doc"
    targets = {j.target_id: j.grade for j in judgements if j.level == level}
    if not any(grade > 0 for grade in targets.values()):
        return judged
    qrels = {qid: targets}
    figures = {}
    for side, rows in (("before", view.left_rows()), ("after", view.right_rows())):
        per_query = score_runs(qrels, {qid: ranking_to_run(rows, level)})[qid]
        figures[side] = {name: per_query[name] for name in FIGURES}
    return replace(judged, metrics=figures, metrics_level=level)
