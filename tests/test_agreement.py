"""Agreement between labelers against the reference libraries and published values: Krippendorff's
ordinal alpha on the example of his own paper, Cohen's quadratic kappa against scikit-learn and the
textbook formula; the undefined cases; and which targets count as disagreements."""

from __future__ import annotations

import math
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from reranklens.golden.agreement import disagreements, team_agreement
from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement

NAN = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers, twelve units,
# values 1-5, missing grades. Published: nominal 0.743, ordinal 0.815, interval 0.849.
PAPER = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    "C": [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
}
# Two people grading ten chunks 0-3.
ANA = [0, 1, 2, 3, 3, 2, 0, 1, 3, 2]
BOB = [0, 2, 2, 3, 1, 2, 1, 1, 3, 0]


def judgements_of(table: dict[str, list[float]]) -> list[Judgement]:
    return [
        Judgement(f"q{unit // 4}", "chunk", f"c{unit}", int(grade), who=who)
        for who, grades in table.items()
        for unit, grade in enumerate(grades)
        if not math.isnan(grade)
    ]


def quadratic_kappa(a: list[int], b: list[int], grades: int = 4) -> float:
    """Cohen's weighted kappa written out: 1 - sum(w * observed) / sum(w * expected), w = (i - j)^2."""
    observed = np.zeros((grades, grades))
    for x, y in zip(a, b, strict=True):
        observed[x, y] += 1
    observed /= len(a)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    weights = np.subtract.outer(np.arange(grades), np.arange(grades)) ** 2
    return float(1 - (weights * observed).sum() / (weights * expected).sum())


def test_alpha_is_krippendorffs_published_ordinal_value() -> None:
    result = team_agreement(judgements_of(PAPER))

    reference = krippendorff.alpha(reliability_data=list(PAPER.values()), level_of_measurement="ordinal")
    assert result.alpha == pytest.approx(reference, abs=1e-12)
    assert round(result.alpha, 3) == 0.815
    assert result.labelers == ("A", "B", "C", "D")


def test_pairs_give_exact_within_one_and_quadratic_kappa() -> None:
    result = team_agreement(judgements_of({"ana": ANA, "bob": BOB}))

    [pair] = result.pairs
    assert (pair.a, pair.b, pair.n) == ("ana", "bob", 10)
    assert pair.exact == pytest.approx(6 / 10)  # chunks 0, 2, 3, 5, 7, 8
    assert pair.within_one == pytest.approx(8 / 10)  # all but 3 vs 1 and 2 vs 0
    assert pair.kappa == pytest.approx(cohen_kappa_score(ANA, BOB, weights="quadratic"), abs=1e-12)
    assert pair.kappa == pytest.approx(quadratic_kappa(ANA, BOB), abs=1e-12)
    assert result.to_json() == {
        "labelers": ["ana", "bob"],
        "pairs": [{"a": "ana", "b": "bob", "n": 10, "exact": 0.6, "within_one": 0.8, "kappa": pair.kappa}],
        "alpha": result.alpha,
    }


def test_pairs_compare_only_the_targets_both_graded() -> None:
    result = team_agreement(judgements_of(PAPER))
    by_pair = {(p.a, p.b): p for p in result.pairs}

    a, c = np.array(PAPER["A"]), np.array(PAPER["C"])
    both = ~np.isnan(a) & ~np.isnan(c)
    assert by_pair["A", "C"].n == int(both.sum()) == 8
    assert by_pair["A", "C"].kappa == pytest.approx(
        cohen_kappa_score(a[both].astype(int), c[both].astype(int), weights="quadratic"), abs=1e-12
    )
    assert len(result.pairs) == 6


def test_nothing_to_compare_gives_none_not_a_number() -> None:
    alone = team_agreement(judgements_of({"ana": ANA}))
    assert (alone.labelers, alone.pairs, alone.alpha) == (("ana",), (), None)

    apart = team_agreement(judgements_of({"ana": [1, 2, NAN, NAN], "bob": [NAN, NAN, 3, 0]}))
    assert [(p.n, p.exact, p.within_one, p.kappa) for p in apart.pairs] == [(0, None, None, None)]
    assert apart.alpha is None

    same = team_agreement(judgements_of({"ana": [2, 2, 2], "bob": [2, 2, 2]}))
    assert [(p.n, p.exact, p.kappa) for p in same.pairs] == [(3, 1.0, None)]  # no variation: kappa is 0/0
    assert same.alpha is None


def test_disagreements_are_targets_two_or_more_grades_apart() -> None:
    found = disagreements(judgements_of({"ana": ANA, "bob": BOB, "cy": [NAN] * 6 + [3, NAN, NAN, NAN]}))

    assert [(d.target_id, d.spread) for d in found] == [("c4", 2), ("c6", 3), ("c9", 2)]
    assert [(j.who, j.grade) for j in found[1].judgements] == [("ana", 0), ("bob", 1), ("cy", 3)]
    assert disagreements(judgements_of({"ana": ANA, "bob": BOB}), spread=1)[0].target_id == "c1"


def test_agreement_reads_each_persons_grades_from_the_store(tmp_path: Path) -> None:
    store = GoldenStore(tmp_path / "golden.sqlite")
    people = judgements_of({"ana": ANA, "bob": BOB})
    store.write_set("team", [GoldenQuery(f"q{n}", f"query {n}") for n in range(3)], people)
    store.adjudicate("team", "q1", "chunk", "c4", 2, who="rita")  # decisions change the consensus, not agreement

    result = team_agreement(store.person_judgements("team"))

    assert result.to_json() == team_agreement(people).to_json()
    assert [d.target_id for d in disagreements(store.person_judgements("team"))] == ["c4", "c9"]
