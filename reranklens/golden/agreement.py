"""Agreement between people who label one golden set, and the targets they disagree on.

A unit is one target of one query (``query_id, level, target_id``); each person's grade for it comes from
``GoldenStore.person_judgements``. Per pair of labelers, on the units both graded: exact agreement, agreement
within one grade and Cohen's kappa with quadratic weights (scikit-learn's ``cohen_kappa_score``: a 0 against
a 3 costs more than a 2 against a 3). Over all labelers at once, Krippendorff's alpha for ordinal data (the
``krippendorff`` package), which takes any number of people and units that only some of them graded.

Both statistics are undefined when there is nothing to compare (fewer than two shared units for kappa, no
unit with two grades for alpha) or no variation at all (everyone gave one grade throughout): they are
``None`` then, never a made-up 0 or 1.

Example (the JSON of ``reranklens golden agreement SET --json``)::

    {"labelers": ["ana", "bob"], "pairs": [{"a": "ana", "b": "bob", "n": 12, "exact": 0.58,
     "within_one": 0.92, "kappa": 0.61}], "alpha": 0.57}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from reranklens.golden.store import Judgement, Level

Unit = tuple[str, Level, str]  # query_id, level, target_id
# A gap this wide between two people's grades for one target (0 vs 2, 1 vs 3) is a disagreement worth a look.
DISAGREEMENT_SPREAD = 2


@dataclass(frozen=True)
class PairAgreement:
    """Two labelers on the ``n`` units both graded; shares are 0-1, None when ``n`` is 0."""

    a: str
    b: str
    n: int
    exact: float | None
    within_one: float | None
    kappa: float | None


@dataclass(frozen=True)
class TeamAgreement:
    labelers: tuple[str, ...]
    pairs: tuple[PairAgreement, ...]
    alpha: float | None

    @property
    def shared_units(self) -> int:
        """Units compared by at least one pair (0: nobody's grades overlap yet)."""
        return max((pair.n for pair in self.pairs), default=0)

    def to_json(self) -> dict[str, Any]:
        return {"labelers": list(self.labelers), "pairs": [asdict(pair) for pair in self.pairs], "alpha": self.alpha}


@dataclass(frozen=True)
class Disagreement:
    """One target whose labelers' grades differ by ``spread`` >= ``DISAGREEMENT_SPREAD``."""

    query_id: str
    level: Level
    target_id: str
    judgements: tuple[Judgement, ...]

    @property
    def spread(self) -> int:
        grades = [j.grade for j in self.judgements]
        return max(grades) - min(grades)


def grades_by_unit(judgements: Sequence[Judgement]) -> dict[Unit, dict[str, int]]:
    """``{(query_id, level, target_id): {who: grade}}`` in the order the units were first graded."""
    units: dict[Unit, dict[str, int]] = {}
    for j in judgements:
        units.setdefault((j.query_id, j.level, j.target_id), {})[j.who] = j.grade
    return units


def team_agreement(judgements: Sequence[Judgement]) -> TeamAgreement:
    """Agreement of every pair of labelers, and Krippendorff's alpha over all, from people's judgements."""
    units = grades_by_unit(judgements)
    labelers = tuple(dict.fromkeys(j.who for j in judgements))
    pairs = tuple(_pair(a, b, units) for a, b in combinations(labelers, 2))
    return TeamAgreement(labelers, pairs, _alpha(labelers, units))


def disagreements(judgements: Sequence[Judgement], spread: int = DISAGREEMENT_SPREAD) -> list[Disagreement]:
    """Targets graded by two or more people whose grades differ by ``spread`` or more, in grading order."""
    by_unit: dict[Unit, list[Judgement]] = {}
    for j in judgements:
        by_unit.setdefault((j.query_id, j.level, j.target_id), []).append(j)
    found = [Disagreement(*unit, tuple(group)) for unit, group in by_unit.items() if len(group) > 1]
    return [d for d in found if d.spread >= spread]


def _pair(a: str, b: str, units: dict[Unit, dict[str, int]]) -> PairAgreement:
    shared = [(grades[a], grades[b]) for grades in units.values() if a in grades and b in grades]
    n = len(shared)
    if not n:
        return PairAgreement(a, b, 0, None, None, None)
    exact = sum(x == y for x, y in shared) / n
    within_one = sum(abs(x - y) <= 1 for x, y in shared) / n
    return PairAgreement(a, b, n, exact, within_one, _kappa(shared))


def _kappa(shared: list[tuple[int, int]]) -> float | None:
    if len(shared) < 2:
        return None
    first, second = zip(*shared, strict=True)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # One grade throughout (both people gave only 2s): chance agreement is total, kappa is 0/0, and
        # scikit-learn warns before answering nan; the None below says it.
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(first, second, weights="quadratic"))
    return value if math.isfinite(value) else None


def _alpha(labelers: tuple[str, ...], units: dict[Unit, dict[str, int]]) -> float | None:
    pairable = [grades for grades in units.values() if len(grades) > 1]
    values = {g for grades in pairable for g in grades.values()}
    if not pairable or len(values) < 2:
        return None  # the package refuses a single value; nothing to compare without two grades on a unit
    data = np.array([[grades.get(who, np.nan) for grades in pairable] for who in labelers], dtype=float)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
    return value if math.isfinite(value) else None
