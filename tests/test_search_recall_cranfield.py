"""Chroma's HNSW index against brute force on real data: Cranfield (1,400 abstracts) with MiniLM.

The recall of the exact cosine top-10 inside Chroma's top-10 is written to
``test-artifacts/cranfield_recall.txt`` so it can be quoted. About 1.5 minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import shared_collection

from reranklens.config import PROJECT_ROOT, Settings
from reranklens.retrieve.search import exact_cosine_top_k
from reranklens.workspace import Workspace

QUERIES = 50
K = 10
ARTIFACT = PROJECT_ROOT / "test-artifacts" / "cranfield_recall.txt"


@pytest.mark.slow
def test_chroma_top10_recalls_the_exact_top10_on_cranfield(tmp_path: Path) -> None:
    folder = shared_collection("cranfield")
    ws = Workspace(Settings(data_dir=tmp_path / "store"))
    report = ws.ingest([folder], "cranfield")
    assert report.documents == 1398  # 1,400 minus the two empty documents (471 and 995)
    assert (report.golden_queries, report.golden_judgements) == (225, 1837)

    ids, matrix = ws.store.embeddings("cranfield")
    assert matrix.shape == (report.chunks_total, 384)
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line in lines][:QUERIES]
    assert len(queries) == QUERIES

    embedder = ws.embedder()
    recalls = []
    for query in queries:
        exact = {ids[i] for i in exact_cosine_top_k(embedder.embed_query(query), matrix, K)}
        found = {hit.chunk.chunk_id for hit in ws.search(query, "cranfield", mode="vector", candidates=K).hits}
        recalls.append(len(exact & found) / K)
    recall = sum(recalls) / len(recalls)

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(
        f"recall@{K} of the exact cosine top-{K} inside Chroma's top-{K}: {recall:.4f}\n"
        f"collection: cranfield ({report.documents} documents, {report.chunks_total} chunks)\n"
        f"queries: first {QUERIES} of queries.jsonl; embedder: {embedder.name}\n"
        f"queries below 1.0: {sum(r < 1 for r in recalls)}\n",
        encoding="utf-8",
    )
    assert recall >= 0.99, f"recall@{K} = {recall:.4f}"
