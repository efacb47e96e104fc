"""``VectorStore.query`` against a real persistent Chroma: the nearest chunks, closest first, capped by
what the collection holds, with no count of the collection first (that was O(chunks) per query)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reranklens.config import Settings
from reranklens.retrieve.store import VectorStore
from reranklens.types import Chunk


@pytest.fixture
def store(tmp_path: Path) -> VectorStore:
    store = VectorStore(Settings.from_env(data_dir=tmp_path))
    store.create("shapes", "test-embedder")
    return store


def _chunk(n: int) -> Chunk:
    return Chunk(chunk_id=f"c{n}", doc_id=f"d{n}", text=f"chunk {n}", source=f"d{n}.md", position=0, char_end=7)


def test_an_empty_collection_answers_with_no_chunks(store: VectorStore) -> None:
    assert store.query("shapes", np.ones(4, dtype=np.float32), 50) == []


def test_asking_for_more_than_the_collection_holds_returns_all_of_it_closest_first(store: VectorStore) -> None:
    vectors = np.eye(4, dtype=np.float32)[:3]
    store.add("shapes", [_chunk(n) for n in range(3)], vectors, {f"d{n}": "h" for n in range(3)})
    query = np.array([0.1, 0.9, 0.4, 0.0], dtype=np.float32)
    hits = store.query("shapes", query, 50)
    assert [chunk.chunk_id for chunk, _ in hits] == ["c1", "c2", "c0"]
    distances = [distance for _, distance in hits]
    assert distances == sorted(distances)
    assert hits[0][0].text == "chunk 1"


def test_query_does_not_count_the_collection(store: VectorStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add("shapes", [_chunk(0)], np.eye(4, dtype=np.float32)[:1], {"d0": "h"})
    collection_class = type(store.collection("shapes"))

    def refuse(*_: object) -> int:
        raise AssertionError("count() reads every chunk: a query must not call it")

    monkeypatch.setattr(collection_class, "count", refuse)
    assert [chunk.chunk_id for chunk, _ in store.query("shapes", np.ones(4, dtype=np.float32), 5)] == ["c0"]
