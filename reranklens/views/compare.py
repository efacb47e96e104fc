"""Compare two rankings of chunks: which ones entered, left or stayed in the top k, and how far each moved.

Pure functions over ``(chunk_id, score)`` lists, so the same code compares vector search with its reranked
candidates, vector with hybrid (different candidate sets) or two rerankers, and is tested without any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["entered_top_k", "left_top_k", "stayed_in_top_k", "outside"]
STATUSES: tuple[Status, ...] = ("entered_top_k", "left_top_k", "stayed_in_top_k", "outside")


@dataclass(frozen=True)
class RankChange:
    """Where one chunk sits in the left and the right ranking.

    Ranks are 1-based positions. A side the chunk is absent from has ``None`` rank and score, and then
    ``shift`` is ``None`` too. ``shift = left_rank - right_rank``: positive means the chunk moved up.
    """

    chunk_id: str
    left_rank: int | None
    left_score: float | None
    right_rank: int | None
    right_score: float | None
    shift: int | None
    status: Status


@dataclass(frozen=True)
class Comparison:
    """Every chunk of either ranking, ordered by right rank (chunks absent from the right last, by left rank)."""

    k: int
    changes: tuple[RankChange, ...]

    def __post_init__(self) -> None:
        _check_k(self.k)

    def by_chunk(self) -> dict[str, RankChange]:
        return {change.chunk_id: change for change in self.changes}

    def with_status(self, status: Status) -> tuple[RankChange, ...]:
        if status not in STATUSES:
            raise ValueError(f"Unknown status {status!r}: use one of {', '.join(STATUSES)}.")
        return tuple(change for change in self.changes if change.status == status)

    @property
    def entered(self) -> tuple[RankChange, ...]:
        """Chunks the right ranking brought into the top k (including ones the left ranking never had)."""
        return self.with_status("entered_top_k")

    @property
    def left(self) -> tuple[RankChange, ...]:
        """Chunks pushed out of the top k (including ones the right ranking dropped altogether)."""
        return self.with_status("left_top_k")


def compare_rankings(left: Sequence[tuple[str, float]], right: Sequence[tuple[str, float]], k: int = 3) -> Comparison:
    """Compare two rankings given as ``(chunk_id, score)`` in rank order (index 0 is rank 1).

    Example: ``compare_rankings([("a", .9), ("b", .8)], [("b", 4.1), ("a", -2.0)], k=1)`` gives
    ``b`` entered_top_k (shift +1) and ``a`` left_top_k (shift -1).

    Edge cases:
    - rank is the position, so tied scores never reorder anything;
    - a chunk may be absent from one side (vector vs hybrid): absent counts as "not in the top k" there,
      its rank, score and shift are ``None``;
    - ``k`` larger than a ranking is fine: every chunk present in that ranking is in its top k;
    - empty rankings give a Comparison with no changes.

    Raises ValueError if ``k < 1`` or a chunk_id appears twice in one ranking (the ranks would be ambiguous).
    """
    _check_k(k)
    left_index = _index(left, "left")
    right_index = _index(right, "right")

    changes = []
    for chunk_id in left_index.keys() | right_index.keys():
        left_rank, left_score = left_index.get(chunk_id, (None, None))
        right_rank, right_score = right_index.get(chunk_id, (None, None))
        in_left = left_rank is not None and left_rank <= k
        in_right = right_rank is not None and right_rank <= k
        status: Status
        if in_left and in_right:
            status = "stayed_in_top_k"
        elif in_right:
            status = "entered_top_k"
        elif in_left:
            status = "left_top_k"
        else:
            status = "outside"
        shift = left_rank - right_rank if left_rank is not None and right_rank is not None else None
        changes.append(RankChange(chunk_id, left_rank, left_score, right_rank, right_score, shift, status))

    changes.sort(key=_order)
    return Comparison(k=k, changes=tuple(changes))


def summary(comparison: Comparison) -> dict[str, int]:
    """How many chunks have each status; every status is a key, zero counts included."""
    counts = dict.fromkeys(STATUSES, 0)
    for change in comparison.changes:
        counts[change.status] += 1
    return counts


def top_k_overlap(comparison: Comparison) -> int:
    """Number of chunks in both top-k lists (at most k)."""
    return len(comparison.with_status("stayed_in_top_k"))


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1 (the size of the top-k compared), got {k}.")


def _index(ranking: Sequence[tuple[str, float]], side: str) -> dict[str, tuple[int, float]]:
    index: dict[str, tuple[int, float]] = {}
    for rank, (chunk_id, score) in enumerate(ranking, start=1):
        if chunk_id in index:
            raise ValueError(
                f"Chunk {chunk_id!r} appears twice in the {side} ranking (ranks {index[chunk_id][0]} and {rank}): "
                "each chunk may appear once per ranking, so deduplicate the hits first."
            )
        index[chunk_id] = (rank, float(score))
    return index


def _order(change: RankChange) -> tuple[bool, int, int]:
    # Right rank first; chunks missing from the right go last, in their left order.
    return (change.right_rank is None, change.right_rank or 0, change.left_rank or 0)
