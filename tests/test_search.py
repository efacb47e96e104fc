"""First-stage search: vector (Chroma), BM25 and hybrid (reciprocal-rank fusion), with timings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from reranklens.config import Settings
from reranklens.retrieve.search import RRF_K, BM25Index, exact_cosine_top_k, reciprocal_rank_fusion, vector_hits
from reranklens.types import Chunk, Hit, SearchResult
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
COLLECTION = "search"
EXTRA_DOCS = {
    "bees.txt": "Honeybees perform a waggle dance to tell the hive where the flowers are.",
    "orchid.txt": "The zygomorphic corolla of this orchid has a single plane of symmetry.",
    "pollination.txt": "Insects carry pollen from blossom to blossom and so help plants reproduce.",
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("search")
    docs = root / "docs"
    shutil.copytree(FIXTURE_DOCS, docs)
    for name, text in EXTRA_DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    workspace = Workspace(Settings(data_dir=root / "store"))
    workspace.ingest([docs], COLLECTION)
    return workspace


def assert_ranked(result: SearchResult) -> None:
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.chunk.chunk_id for h in result.hits}) == len(result.hits)


def test_vector_hits_are_cosine_similarities_in_order(ws: Workspace) -> None:
    result = ws.search("how do I reset my password", COLLECTION, mode="vector", candidates=50)
    count = ws.store.info(COLLECTION).chunk_count
    assert (result.query, result.collection, result.mode) == ("how do I reset my password", COLLECTION, "vector")
    assert len(result.hits) == count  # fewer chunks than candidates: all of them
    assert_ranked(result)
    for hit in result.hits:
        assert hit.distance is not None and hit.similarity is not None
        assert hit.similarity == pytest.approx(1.0 - hit.distance, abs=1e-9)
        assert hit.score == hit.similarity
    assert result.hits[0].chunk.doc_id == "guide.md"
    assert result.hits[0].chunk.heading_path[:2] == ("Guide", "Reset")


def test_vector_similarities_match_brute_force_cosine(ws: Workspace) -> None:
    query = "insects carrying pollen between flowers"
    result = ws.search(query, COLLECTION, candidates=5)
    ids, matrix = ws.store.embeddings(COLLECTION)
    vector = ws.embedder().embed_query(query)
    exact = exact_cosine_top_k(vector, matrix, 5)
    assert [h.chunk.chunk_id for h in result.hits] == [ids[i] for i in exact]
    by_id = dict(zip(ids, matrix, strict=True))
    for hit in result.hits:
        assert hit.similarity == pytest.approx(float(by_id[hit.chunk.chunk_id] @ vector), abs=1e-4)
    assert result.hits[0].chunk.doc_id == "pollination.txt"


def test_query_is_stripped_before_search(ws: Workspace) -> None:
    padded = ws.search("  zygomorphic corolla \n", COLLECTION, mode="bm25")
    assert padded.query == "zygomorphic corolla"
    assert [h.chunk.doc_id for h in padded.hits] == ["orchid.txt"]


def test_bm25_finds_an_exact_rare_term(ws: Workspace) -> None:
    result = ws.search("zygomorphic", COLLECTION, mode="bm25")
    assert [h.chunk.doc_id for h in result.hits] == ["orchid.txt"]
    assert result.hits[0].score > 0
    assert result.hits[0].distance is None and result.hits[0].similarity is None


def test_bm25_ranks_only_chunks_sharing_a_term(ws: Workspace) -> None:
    result = ws.search("password reset link", COLLECTION, mode="bm25", candidates=50)
    assert_ranked(result)
    assert result.hits and all(h.score > 0 for h in result.hits)
    for hit in result.hits:
        assert {"password", "reset", "link"} & set(hit.chunk.passage.lower().replace('"', " ").split())
    assert result.hits[0].chunk.heading_path[:2] == ("Guide", "Reset")


@pytest.mark.parametrize("query", ["qwertyuiop asdfgh", "the and of to"])
def test_bm25_without_known_terms_finds_nothing(ws: Workspace, query: str) -> None:
    assert ws.search(query, COLLECTION, mode="bm25").hits == ()


def test_bm25_stems_words(ws: Workspace) -> None:
    assert ws.search("reproducing plant", COLLECTION, mode="bm25").hits[0].chunk.doc_id == "pollination.txt"


def test_hybrid_fuses_both_rankings(ws: Workspace) -> None:
    query = "how do bees find flowers zygomorphic"
    n = 2
    vector = ws.search(query, COLLECTION, mode="vector", candidates=n).hits
    bm25 = ws.search(query, COLLECTION, mode="bm25", candidates=n).hits
    hybrid = ws.search(query, COLLECTION, mode="hybrid", candidates=n)
    assert_ranked(hybrid)
    assert len(hybrid.hits) == n
    vector_ids = [h.chunk.chunk_id for h in vector]
    bm25_ids = [h.chunk.chunk_id for h in bm25]
    hybrid_ids = [h.chunk.chunk_id for h in hybrid.hits]
    assert set(hybrid_ids) <= set(vector_ids) | set(bm25_ids)
    assert set(hybrid_ids) & set(vector_ids), "no chunk from the vector ranking"
    assert set(hybrid_ids) - set(vector_ids), "no chunk that only BM25 found"
    # Scores are the RRF sums of the two rankings, computed here by hand.
    expected: dict[str, float] = {}
    for ranking in (vector_ids, bm25_ids):
        for rank, chunk_id in enumerate(ranking, start=1):
            expected[chunk_id] = expected.get(chunk_id, 0.0) + 1 / (RRF_K + rank)
    for hit in hybrid.hits:
        assert hit.score == pytest.approx(expected[hit.chunk.chunk_id])
    # A chunk the vector ranking found keeps its cosine similarity.
    similarity = {h.chunk.chunk_id: h.similarity for h in vector}
    for hit in hybrid.hits:
        assert hit.similarity == similarity.get(hit.chunk.chunk_id)


def test_hybrid_with_more_candidates_than_chunks(ws: Workspace) -> None:
    result = ws.search("kestrel jesses", COLLECTION, mode="hybrid", candidates=200)
    assert_ranked(result)
    assert len(result.hits) == ws.store.info(COLLECTION).chunk_count
    assert result.hits[0].chunk.doc_id == "page.html"


@pytest.mark.parametrize(
    ("mode", "stages"),
    [
        ("vector", {"embed", "vector_search"}),
        ("bm25", {"bm25_search"}),
        ("hybrid", {"embed", "vector_search", "bm25_search", "fuse"}),
    ],
)
def test_timings_name_each_stage(ws: Workspace, mode: str, stages: set[str]) -> None:
    timings = ws.search("reset password", COLLECTION, mode=mode).timings_ms  # type: ignore[arg-type]
    assert set(timings) == stages
    assert all(isinstance(ms, float) and ms >= 0 for ms in timings.values())


def make_chunk(chunk_id: str) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id=f"doc-{chunk_id}", text=chunk_id, source="hand-made", position=0)


def ranking(*chunk_ids: str, vector: bool = False) -> list[Hit]:
    return [
        Hit(
            chunk=make_chunk(cid),
            rank=rank,
            score=1.0 / rank,
            distance=0.1 * rank if vector else None,
            similarity=1 - 0.1 * rank if vector else None,
        )
        for rank, cid in enumerate(chunk_ids, start=1)
    ]


def test_rrf_hand_computed_order_and_scores() -> None:
    # a: 1/61 ; b: 1/62 + 1/61 ; c: 1/63 ; d: 1/62
    fused = reciprocal_rank_fusion([ranking("a", "b", "c"), ranking("b", "d")], n=10)
    assert [h.chunk.chunk_id for h in fused] == ["b", "a", "d", "c"]
    assert [h.rank for h in fused] == [1, 2, 3, 4]
    assert [h.score for h in fused] == pytest.approx([1 / 62 + 1 / 61, 1 / 61, 1 / 62, 1 / 63])


def test_rrf_ties_keep_first_seen_order_and_cut_to_n() -> None:
    # a and c tie (1/61 + 1/63), b and d tie (1/62): first seen wins each tie.
    fused = reciprocal_rank_fusion([ranking("a", "b", "c"), ranking("c", "d", "a")], n=3)
    assert [h.chunk.chunk_id for h in fused] == ["a", "c", "b"]
    assert [h.score for h in fused] == pytest.approx([1 / 61 + 1 / 63, 1 / 61 + 1 / 63, 1 / 62])


def test_rrf_constant_k() -> None:
    fused = reciprocal_rank_fusion([ranking("a", "b"), ranking("b")], n=5, k=1)
    assert [(h.chunk.chunk_id, h.score) for h in fused] == [("b", pytest.approx(1 / 3 + 1 / 2)), ("a", 0.5)]


def test_rrf_keeps_vector_similarity_whichever_list_comes_first() -> None:
    fused = reciprocal_rank_fusion([ranking("x", "y"), ranking("y", "x", vector=True)], n=2)
    by_id = {h.chunk.chunk_id: h for h in fused}
    assert by_id["y"].similarity == pytest.approx(0.9) and by_id["y"].distance == pytest.approx(0.1)
    assert by_id["x"].similarity == pytest.approx(0.8)


def test_rrf_of_nothing_is_empty() -> None:
    assert reciprocal_rank_fusion([[], []], n=5) == []


def test_vector_hits_from_distances() -> None:
    hits = vector_hits([(make_chunk("a"), 0.25), (make_chunk("b"), 0.5)])
    assert [(h.rank, h.score, h.similarity, h.distance) for h in hits] == [(1, 0.75, 0.75, 0.25), (2, 0.5, 0.5, 0.5)]


def test_exact_cosine_top_k_by_hand() -> None:
    matrix = np.array([[1, 0], [0, 1], [1, 1], [-1, 0], [0, 0]], dtype=np.float32)
    query = np.array([2, 1], dtype=np.float32)
    # cosines: 0.894, 0.447, 0.949, -0.894, 0 (a zero row is not a division by zero)
    assert exact_cosine_top_k(query, matrix, 3).tolist() == [2, 0, 1]
    assert exact_cosine_top_k(query, matrix, 99).tolist() == [2, 0, 1, 4, 3]


def test_bm25_index_over_hand_made_chunks() -> None:
    chunks = [
        Chunk("a", "doc-a", "Otters float on their backs.", "s", 0),
        Chunk("b", "doc-b", "Beavers build dams.", "s", 0, heading_path=("Otters",)),
        Chunk("c", "doc-c", "Herons stand still.", "s", 0),
    ]
    hits = BM25Index(chunks).search("otters", 5)
    assert {h.chunk.chunk_id for h in hits} == {"a", "b"}  # the heading counts: BM25 reads passages
    assert BM25Index([]).search("otters", 5) == []
