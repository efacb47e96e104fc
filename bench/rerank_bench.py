"""Reranking (and embedding) speed on this machine: every RerankLens backend against the naive baseline.

The same queries and candidates (top-N BM25 chunks of a real BEIR collection, chunked exactly as
``reranklens ingest`` chunks it) are scored by

- ``naive``: plain ``CrossEncoder.predict(pairs)``, fp32, default batch size: what a first
  implementation does, and the baseline every ratio is against;
- each RerankLens backend (``CrossEncoderReranker`` with ``torch``, ``onnx``, ``onnx-int8``, and
  ``onnx-int8`` under a 128-token budget),

in one process, after warm-up, alternating backends query by query (rotating who goes first) so
drift in the machine's speed hits all of them alike. Per backend: median and p95 latency per
query, speed-up against the naive median, and agreement with the naive ranking: Spearman per
query, the share of queries whose top-3 is identical (same chunks, same order), and nDCG@10 of
both at document level (a document ranks where its best chunk ranks) on the collection's qrels.

Agreement only means something for a model with a trained head; with the seeded untrained test
model the scores are near-ties and any numeric noise reorders them (latency is still valid: it
does not depend on the head). Candidates come from BM25 because the reranker's cost and agreement
do not depend on which first stage produced them, and BM25 needs no embedding pass.

    python bench/rerank_bench.py --collection ../shared/data/collections/cranfield \\
        --model DIR --queries 30 --json bench-cranfield.json
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reranklens.golden.beir import read_qrels, read_queries
from reranklens.ingest.chunking import ChunkingOptions, chunk_documents
from reranklens.ingest.readers import read_beir_corpus
from reranklens.rerank.rerankers import CrossEncoderReranker
from reranklens.retrieve.search import BM25Index
from reranklens.types import Chunk

Scorer = Callable[[str, Sequence[str]], np.ndarray]
WARMUP_QUERIES = 2
CHEAP_BUDGET = 128


@dataclass
class Candidates:
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    chunks: dict[str, list[Chunk]]
    mean_tokens: float


@dataclass
class BackendRun:
    name: str
    times_ms: list[float] = field(default_factory=list)
    scores: dict[str, np.ndarray] = field(default_factory=dict)


def load_candidates(folder: Path, queries: int, candidates: int, chunk_tokens: int) -> Candidates:
    """The first ``queries`` judged queries and their top-``candidates`` BM25 chunks."""
    options = ChunkingOptions(chunk_tokens, min(40, chunk_tokens // 5))
    chunks = [chunk for doc_chunks in chunk_documents(read_beir_corpus(folder), options) for chunk in doc_chunks]
    index = BM25Index(chunks)
    texts = read_queries(folder / "queries.jsonl")
    qrels = read_qrels(folder / "qrels.tsv")
    chosen = [qid for qid in texts if qrels.get(qid)][:queries]
    found = {qid: [hit.chunk for hit in index.search(texts[qid], candidates)] for qid in chosen}
    found = {qid: hits for qid, hits in found.items() if hits}
    tokens = [c.token_count for hits in found.values() for c in hits]
    return Candidates(
        {qid: texts[qid] for qid in found}, {qid: qrels[qid] for qid in found}, found, float(np.mean(tokens))
    )


def scorers(model: str, export_dir: Path) -> dict[str, Scorer]:
    from sentence_transformers import CrossEncoder

    naive_model = CrossEncoder(model, device="cpu")

    def naive(query: str, passages: Sequence[str]) -> np.ndarray:
        return np.asarray(naive_model.predict([(query, p) for p in passages], show_progress_bar=False))

    def ours(backend: str, max_tokens: int | None = None) -> Scorer:
        reranker = CrossEncoderReranker(
            model, device="cpu", backend=backend, max_tokens=max_tokens, export_dir=export_dir
        )
        return lambda query, passages: np.array([s.raw for s in reranker.score(query, passages)])

    return {
        "naive": naive,
        "torch": ours("torch"),
        "onnx": ours("onnx"),
        "onnx-int8": ours("onnx-int8"),
        f"onnx-int8@{CHEAP_BUDGET}": ours("onnx-int8", CHEAP_BUDGET),
    }


def run(candidates: Candidates, backends: dict[str, Scorer]) -> dict[str, BackendRun]:
    runs = {name: BackendRun(name) for name in backends}
    names = list(backends)
    for qid in list(candidates.queries)[:WARMUP_QUERIES]:
        for name in names:
            backends[name](candidates.queries[qid], [c.passage for c in candidates.chunks[qid]])
    for turn, qid in enumerate(candidates.queries):
        query, passages = candidates.queries[qid], [c.passage for c in candidates.chunks[qid]]
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            start = time.perf_counter()
            scores = backends[name](query, passages)
            runs[name].times_ms.append((time.perf_counter() - start) * 1000)
            runs[name].scores[qid] = scores
    return runs


def ndcg10(candidates: Candidates, scores: dict[str, np.ndarray]) -> float:
    import ir_measures

    run: dict[str, dict[str, float]] = {}
    for qid, values in scores.items():
        order = np.argsort(-values, kind="stable")
        ranked: dict[str, float] = {}
        for position in order:
            doc = candidates.chunks[qid][position].doc_id
            ranked.setdefault(doc, 1.0 / (len(ranked) + 1))
        run[qid] = ranked
    return float(ir_measures.calc_aggregate([ir_measures.nDCG @ 10], candidates.qrels, run)[ir_measures.nDCG @ 10])


def summarise(candidates: Candidates, runs: dict[str, BackendRun]) -> list[dict[str, object]]:
    from scipy.stats import spearmanr

    base = runs["naive"]
    base_median = statistics.median(base.times_ms)
    rows = []
    for result in runs.values():
        same_top3 = [
            list(np.argsort(-result.scores[q], kind="stable")[:3])
            == list(np.argsort(-base.scores[q], kind="stable")[:3])
            for q in base.scores
        ]
        rhos = [float(spearmanr(result.scores[q], base.scores[q]).statistic) for q in base.scores]
        median = statistics.median(result.times_ms)
        rows.append(
            {
                "backend": result.name,
                "median_ms": round(median, 1),
                "p95_ms": round(float(np.percentile(result.times_ms, 95)), 1),
                "speedup_vs_naive": round(base_median / median, 2),
                "top3_identical": round(sum(same_top3) / len(same_top3), 3),
                "spearman_mean": round(float(np.nanmean(rhos)), 4),
                "ndcg10": round(ndcg10(candidates, result.scores), 4),
            }
        )
    return rows


def embedding_throughput(candidates: Candidates, rounds: int = 3) -> list[dict[str, object]]:
    """Chunks/s of plain ``SentenceTransformer.encode`` vs RerankLens's embedder on the same chunks."""
    from sentence_transformers import SentenceTransformer

    from reranklens.ingest.embed import SentenceTransformerEmbedder
    from reranklens.models.hub import local_model_path

    texts = list({c.passage: None for hits in candidates.chunks.values() for c in hits})[:512]
    name = "sentence-transformers/all-MiniLM-L6-v2"
    plain = SentenceTransformer(local_model_path(name) or name, device="cpu")
    ours = SentenceTransformerEmbedder(name)
    jobs = {"plain-encode": lambda: plain.encode(texts), "reranklens-embedder": lambda: ours.embed_documents(texts)}
    for job in jobs.values():
        job()
    seconds: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for job_name, job in jobs.items():
            start = time.perf_counter()
            job()
            seconds[job_name].append(time.perf_counter() - start)
    base = len(texts) / statistics.median(seconds["plain-encode"])
    return [
        {
            "backend": job_name,
            "chunks_per_s": round(len(texts) / statistics.median(s), 1),
            "speedup_vs_plain": round(len(texts) / statistics.median(s) / base, 2),
        }
        for job_name, s in seconds.items()
    ]


def print_table(rows: Sequence[dict[str, object]]) -> None:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", type=Path, required=True, help="a BEIR folder (corpus, queries, qrels)")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--model", required=True, help="cross-encoder name or directory")
    parser.add_argument("--chunk-tokens", type=int, default=200, help="chunk size, as in reranklens ingest")
    parser.add_argument("--export-dir", type=Path, help="where ONNX exports are cached (default: a temp dir)")
    parser.add_argument("--skip-embedding", action="store_true", help="skip the embedding-throughput part")
    parser.add_argument("--json", type=Path, help="write one object per backend to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    candidates = load_candidates(args.collection, args.queries, args.candidates, args.chunk_tokens)
    export_dir = args.export_dir or Path(tempfile.mkdtemp(prefix="rerank-bench-"))
    print(
        f"{args.collection.name}: {len(candidates.queries)} queries x {args.candidates} candidates, "
        f"mean chunk {candidates.mean_tokens:.0f} tokens, model {args.model}",
        file=sys.stderr,
    )
    rows = summarise(candidates, run(candidates, scorers(args.model, export_dir)))
    print_table(rows)
    embedding = [] if args.skip_embedding else embedding_throughput(candidates)
    if embedding:
        print()
        print_table(embedding)
    if args.json:
        args.json.write_text(json.dumps(rows + embedding, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
