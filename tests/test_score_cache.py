"""The score cache: a bounded, thread-safe LRU keyed by (model + options, query, passage hash)."""

from __future__ import annotations

import threading

import pytest

from reranklens.rerank.score_cache import ScoreCache, text_key
from reranklens.types import PassageScore


def test_get_of_an_unknown_key_is_none_and_counts_a_miss() -> None:
    cache: ScoreCache[PassageScore] = ScoreCache()

    assert cache.get(("model", "q", "p")) is None
    assert (cache.hits, cache.misses) == (0, 1)


def test_put_then_get_returns_the_value_and_counts_a_hit() -> None:
    cache: ScoreCache[PassageScore] = ScoreCache()
    cache.put(("model", "q", "p"), PassageScore(1.5, 10, 12))

    assert cache.get(("model", "q", "p")) == PassageScore(1.5, 10, 12)
    assert (cache.hits, cache.misses) == (1, 0)
    assert len(cache) == 1


def test_third_put_evicts_the_least_recently_used() -> None:
    cache: ScoreCache[float] = ScoreCache(capacity=2)
    cache.put("a", 1.0)
    cache.put("b", 2.0)

    cache.put("c", 3.0)

    assert len(cache) == 2
    assert cache.get("a") is None
    assert (cache.get("b"), cache.get("c")) == (2.0, 3.0)


def test_get_refreshes_recency() -> None:
    cache: ScoreCache[float] = ScoreCache(capacity=2)
    cache.put("a", 1.0)
    cache.put("b", 2.0)
    assert cache.get("a") == 1.0  # a is now the most recently used

    cache.put("c", 3.0)

    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1.0, 3.0)


def test_put_of_a_known_key_replaces_its_value_and_refreshes_it() -> None:
    cache: ScoreCache[float] = ScoreCache(capacity=2)
    cache.put("a", 1.0)
    cache.put("b", 2.0)
    cache.put("a", 10.0)

    cache.put("c", 3.0)

    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == 10.0


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_below_one_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ScoreCache(capacity=capacity)


def test_capacity_one_keeps_only_the_last_value() -> None:
    cache: ScoreCache[float] = ScoreCache(capacity=1)
    cache.put("a", 1.0)
    cache.put("b", 2.0)

    assert len(cache) == 1
    assert (cache.get("a"), cache.get("b")) == (None, 2.0)


def test_concurrent_puts_never_exceed_the_capacity() -> None:
    cache: ScoreCache[int] = ScoreCache(capacity=50)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(2_000):
                cache.put((offset, i), i)
                cache.get((offset, i - 1))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(cache) == 50
    assert cache.hits + cache.misses == 4 * 2_000


def test_text_key_is_stable_and_tells_texts_apart() -> None:
    assert text_key("Reset your password.") == text_key("Reset your password.")
    assert text_key("Reset your password.") != text_key("Reset your password!")
    assert text_key("") != text_key(" ")
    assert len(text_key("anything")) == 24  # 12 bytes of blake2b, hex
