"""Hand-made rankings with the expected statuses and shifts written out."""

from __future__ import annotations

import pytest

from reranklens.views.compare import Comparison, RankChange, compare_rankings, summary, top_k_overlap

VECTOR = [("a", 0.91), ("b", 0.88), ("c", 0.80), ("d", 0.75), ("e", 0.70)]


def statuses(comparison: Comparison) -> dict[str, str]:
    return {change.chunk_id: change.status for change in comparison.changes}


def shifts(comparison: Comparison) -> dict[str, int | None]:
    return {change.chunk_id: change.shift for change in comparison.changes}


def test_swap_inside_top_k_keeps_both_in_top_k() -> None:
    reranked = [("b", 5.0), ("a", 4.0), ("c", 3.0), ("d", 2.0), ("e", 1.0)]
    comparison = compare_rankings(VECTOR, reranked, k=3)

    assert statuses(comparison) == {
        "a": "stayed_in_top_k",
        "b": "stayed_in_top_k",
        "c": "stayed_in_top_k",
        "d": "outside",
        "e": "outside",
    }
    assert shifts(comparison) == {"a": -1, "b": 1, "c": 0, "d": 0, "e": 0}
    assert comparison.entered == ()
    assert comparison.left == ()
    assert top_k_overlap(comparison) == 3


def test_rank_5_to_1_enters_and_pushes_rank_3_out() -> None:
    reranked = [("e", 7.5), ("a", 6.0), ("b", 2.0), ("c", 1.0), ("d", -3.0)]
    comparison = compare_rankings(VECTOR, reranked, k=3)

    assert comparison.by_chunk()["e"] == RankChange(
        chunk_id="e",
        left_rank=5,
        left_score=0.70,
        right_rank=1,
        right_score=7.5,
        shift=4,
        status="entered_top_k",
    )
    assert comparison.by_chunk()["c"] == RankChange(
        chunk_id="c",
        left_rank=3,
        left_score=0.80,
        right_rank=4,
        right_score=1.0,
        shift=-1,
        status="left_top_k",
    )
    assert statuses(comparison) == {
        "e": "entered_top_k",
        "a": "stayed_in_top_k",
        "b": "stayed_in_top_k",
        "c": "left_top_k",
        "d": "outside",
    }
    assert [change.chunk_id for change in comparison.entered] == ["e"]
    assert [change.chunk_id for change in comparison.left] == ["c"]
    assert summary(comparison) == {"entered_top_k": 1, "left_top_k": 1, "stayed_in_top_k": 2, "outside": 1}
    assert top_k_overlap(comparison) == 2


def test_changes_are_ordered_by_right_rank() -> None:
    reranked = [("d", 3.0), ("b", 2.0), ("a", 1.0), ("e", 0.5), ("c", 0.1)]
    comparison = compare_rankings(VECTOR, reranked, k=2)

    assert [change.chunk_id for change in comparison.changes] == ["d", "b", "a", "e", "c"]
    assert [change.right_rank for change in comparison.changes] == [1, 2, 3, 4, 5]


def test_tied_scores_use_position_as_rank() -> None:
    left = [("x", 0.5), ("y", 0.5), ("z", 0.5)]
    right = [("z", 1.0), ("x", 1.0), ("y", 1.0)]
    comparison = compare_rankings(left, right, k=1)

    by_chunk = comparison.by_chunk()
    assert (by_chunk["x"].left_rank, by_chunk["y"].left_rank, by_chunk["z"].left_rank) == (1, 2, 3)
    assert (by_chunk["z"].right_rank, by_chunk["x"].right_rank, by_chunk["y"].right_rank) == (1, 2, 3)
    assert statuses(comparison) == {"z": "entered_top_k", "x": "left_top_k", "y": "outside"}
    assert shifts(comparison) == {"z": 2, "x": -1, "y": -1}


def test_k_larger_than_the_lists_puts_everything_in_top_k() -> None:
    reranked = [("e", 5.0), ("d", 4.0), ("c", 3.0), ("b", 2.0), ("a", 1.0)]
    comparison = compare_rankings(VECTOR, reranked, k=10)

    assert comparison.k == 10
    assert set(statuses(comparison).values()) == {"stayed_in_top_k"}
    assert shifts(comparison) == {"e": 4, "d": 2, "c": 0, "b": -2, "a": -4}
    assert top_k_overlap(comparison) == 5


def test_single_candidate() -> None:
    comparison = compare_rankings([("only", 0.42)], [("only", -1.5)], k=3)

    assert comparison.changes == (
        RankChange(
            chunk_id="only",
            left_rank=1,
            left_score=0.42,
            right_rank=1,
            right_score=-1.5,
            shift=0,
            status="stayed_in_top_k",
        ),
    )


def test_empty_rankings_give_an_empty_comparison() -> None:
    comparison = compare_rankings([], [], k=3)

    assert comparison == Comparison(k=3, changes=())
    assert comparison.by_chunk() == {}
    assert summary(comparison) == {"entered_top_k": 0, "left_top_k": 0, "stayed_in_top_k": 0, "outside": 0}
    assert top_k_overlap(comparison) == 0


def test_one_side_empty_marks_everything_as_entered() -> None:
    comparison = compare_rankings([], [("a", 1.0), ("b", 0.5)], k=1)

    assert statuses(comparison) == {"a": "entered_top_k", "b": "outside"}
    assert shifts(comparison) == {"a": None, "b": None}


def test_chunks_absent_from_one_side_vector_vs_hybrid() -> None:
    vector = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("v4", 0.6)]
    hybrid = [("h1", 0.033), ("a", 0.032), ("c", 0.031), ("h4", 0.030)]
    comparison = compare_rankings(vector, hybrid, k=3)

    by_chunk = comparison.by_chunk()
    assert by_chunk["h1"] == RankChange("h1", None, None, 1, 0.033, None, "entered_top_k")
    assert by_chunk["b"] == RankChange("b", 2, 0.8, None, None, None, "left_top_k")
    assert by_chunk["v4"] == RankChange("v4", 4, 0.6, None, None, None, "outside")
    assert by_chunk["h4"] == RankChange("h4", None, None, 4, 0.030, None, "outside")
    assert by_chunk["a"].shift == -1
    assert by_chunk["c"].shift == 0
    # Present on the right first (by right rank), then right-absent ones by left rank.
    assert [change.chunk_id for change in comparison.changes] == ["h1", "a", "c", "h4", "b", "v4"]
    assert summary(comparison) == {"entered_top_k": 1, "left_top_k": 1, "stayed_in_top_k": 2, "outside": 2}


def test_duplicate_chunk_id_is_rejected_with_its_ranks() -> None:
    with pytest.raises(ValueError, match=r"'b' appears twice in the right ranking \(ranks 1 and 3\)"):
        compare_rankings(VECTOR, [("b", 3.0), ("a", 2.0), ("b", 1.0)], k=3)
    with pytest.raises(ValueError, match="appears twice in the left ranking"):
        compare_rankings([("a", 1.0), ("a", 1.0)], [], k=3)


@pytest.mark.parametrize("k", [0, -2])
def test_k_below_one_is_rejected(k: int) -> None:
    with pytest.raises(ValueError, match=rf"k must be at least 1 .*got {k}\."):
        compare_rankings(VECTOR, VECTOR, k=k)


def test_unknown_status_is_rejected() -> None:
    comparison = compare_rankings(VECTOR, VECTOR, k=3)
    with pytest.raises(ValueError, match="Unknown status 'moved'"):
        comparison.with_status("moved")  # type: ignore[arg-type]
    assert [change.chunk_id for change in comparison.with_status("outside")] == ["d", "e"]
