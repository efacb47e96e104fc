"""Bi-encoder speed and fidelity: plain ``SentenceTransformer.encode`` against ONNX fp32 and ONNX int8.

The same texts (a seeded subsample of each shared BEIR collection: every document judged for the
chosen queries plus random others) are embedded by

- ``plain``: ``SentenceTransformer.encode(texts, batch_size=32, normalize_embeddings=True)``, torch,
  fp32: the baseline every ratio is against;
- ``onnx-fp32``: RerankLens' ``OnnxEmbedder`` (ONNX Runtime + tokenizers, the default embedder);
- ``onnx-int8``: the same export with ORT dynamic int8 weights (the ``NAME@int8`` embedder),

backends alternating collection by collection (rotating who goes first) so drift in the machine's
speed hits all of them alike. Per backend: documents embedded per second (over all collections)
and the speed-up against ``plain``; fidelity per collection: the mean share of each query's
top-10 documents (exact cosine over the subsample) that ``plain`` also has in its top-10, and
nDCG@10 (ir-measures) on the qrels minus ``plain``'s. ``top10_overlap`` is the worst collection's
mean, ``ndcg10_delta`` the largest absolute difference: int8 may become the ingest default only if
``top10_overlap >= 0.98`` and ``|ndcg10_delta| <= 0.005`` (``faithful`` in the output).

Why a ratio is what it is: ``gflop_per_s`` is the arithmetic each backend did per second (the
model's multiply-adds for the real, unpadded tokens of the texts it embedded), and ``gemm_gflop_per_s``
is what this machine's fp32 matrix multiply reaches on the model's own layer shape. An fp32 backend
cannot beat ``plain`` by more than ``gemm_gflop_per_s / plain's gflop_per_s``.

    nice python bench/embed_bench.py --json bench-embed.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ir_measures
import numpy as np

from reranklens.config import DEFAULT_EMBEDDER
from reranklens.golden.beir import read_qrels, read_queries
from reranklens.ingest.onnx_embed import OnnxEmbedder
from reranklens.models.hub import local_model_path

COLLECTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "collections"
OVERLAP_GOAL, NDCG_GOAL = 0.98, 0.005
Embed = Callable[[Sequence[str]], np.ndarray]


def load_sample(folder: Path, queries: int, docs: int, seed: int) -> tuple[dict[str, str], dict[str, str], dict]:
    """(doc_id -> text, qid -> query, qrels) for the first ``queries`` judged queries and a pool of
    ``docs`` documents holding every document judged for them."""
    texts = read_queries(folder / "queries.jsonl")
    qrels = read_qrels(folder / "qrels.tsv")
    chosen = [qid for qid in texts if qrels.get(qid)][:queries]
    corpus: dict[str, str] = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            corpus[str(row["_id"])] = f"{row.get('title') or ''}\n{row.get('text') or ''}".strip()
    judged = {doc for qid in chosen for doc in qrels[qid] if doc in corpus}
    others = sorted(set(corpus) - judged)
    random.Random(seed).shuffle(others)
    pool = sorted(judged) + others[: max(0, docs - len(judged))]
    return {d: corpus[d] for d in pool}, {q: texts[q] for q in chosen}, {q: qrels[q] for q in chosen}


def top10(doc_vectors: np.ndarray, query_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = query_vectors @ doc_vectors.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :10], np.sort(-scores, axis=1)[:, :10] * -1


def ndcg10(doc_ids: list[str], qids: list[str], order: np.ndarray, scores: np.ndarray, qrels: dict) -> float:
    run = {
        qid: {doc_ids[i]: float(s) for i, s in zip(order[row], scores[row], strict=True)}
        for row, qid in enumerate(qids)
    }
    return float(ir_measures.calc_aggregate([ir_measures.nDCG @ 10], qrels, run)[ir_measures.nDCG @ 10])


def flop_per_text(tokens: int, layers: int, hidden: int, intermediate: int) -> float:
    """Multiply-adds x 2 of a BERT encoder on one unpadded text: the dense layers (Q, K, V, output,
    two feed-forward) for every token, plus attention scores and mixing, which grow with length."""
    dense = 2 * tokens * layers * (4 * hidden * hidden + 2 * hidden * intermediate)
    attention = 2 * layers * 2 * tokens * tokens * hidden
    return float(dense + attention)


def gemm_gflop_per_s(hidden: int, intermediate: int, rows: int = 4096, repeats: int = 20) -> float:
    """fp32 matrix-multiply speed on the feed-forward shape (``rows`` tokens x hidden @ hidden x
    intermediate) with torch's default threads: the ceiling for an fp32 backend on this machine."""
    import torch

    left, right = torch.randn(rows, hidden), torch.randn(hidden, intermediate)
    torch.matmul(left, right)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.matmul(left, right)
    return 2 * rows * hidden * intermediate * repeats / (time.perf_counter() - start) / 1e9


def summarise(
    seconds: dict[str, float],
    texts_done: dict[str, int],
    per_collection: dict[str, dict],
    device: str,
    flop_done: float,
    gemm_peak: float,
) -> list[dict]:
    """One object per backend over the collections measured so far; texts/s over all of them.
    ``flop_done`` is the arithmetic of one pass over the texts (every backend embeds the same ones)."""
    plain_rate = texts_done["plain"] / seconds["plain"]
    rows = []
    for name, collections in per_collection.items():
        rate = texts_done[name] / seconds[name]
        overlap = min(c["top10_overlap"] for c in collections.values())
        delta = max((c["ndcg10_delta"] for c in collections.values()), key=abs)
        rows.append(
            {
                "backend": name,
                "texts_per_s": round(rate, 1),
                "speedup_vs_plain": round(rate / plain_rate, 2),
                "top10_overlap": overlap,
                "ndcg10_delta": delta,
                "faithful": bool(overlap >= OVERLAP_GOAL and abs(delta) <= NDCG_GOAL),
                "gflop_per_s": round(flop_done / seconds[name] / 1e9, 1),
                "gemm_gflop_per_s": round(gemm_peak, 1),
                "collections": sorted(collections),
                "device": device,
                "per_collection": collections,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", nargs="+", default=["cranfield", "cisi", "cacm"])
    parser.add_argument("--queries", type=int, default=40, help="judged queries per collection")
    parser.add_argument("--docs", type=int, default=400, help="documents per collection (judged ones included)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, help="write one object per backend to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from sentence_transformers import SentenceTransformer

    model_dir = Path(local_model_path(DEFAULT_EMBEDDER) or "")
    exports = Path(os.environ.get("RERANKLENS_EXPORT_DIR") or Path(tempfile.gettempdir()) / "reranklens-exports")
    plain_model = SentenceTransformer(str(model_dir))
    device = str(plain_model.device)
    backends: dict[str, Embed] = {
        "plain": lambda texts: plain_model.encode(
            list(texts), batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True
        ),
        "onnx-fp32": OnnxEmbedder(DEFAULT_EMBEDDER, model_dir, exports, "fp32", args.batch_size).embed_documents,
        "onnx-int8": OnnxEmbedder(DEFAULT_EMBEDDER, model_dir, exports, "int8", args.batch_size).embed_documents,
    }
    for embed in backends.values():  # warm-up: first-call allocations and thread pools
        embed(["warm up the model", "and its thread pool"] * 8)
    config = plain_model[0].auto_model.config
    shape = (config.num_hidden_layers, config.hidden_size, config.intermediate_size)
    gemm_peak = gemm_gflop_per_s(shape[1], shape[2])
    flop_done = 0.0

    seconds = dict.fromkeys(backends, 0.0)
    texts_done = dict.fromkeys(backends, 0)
    per_collection: dict[str, dict[str, dict[str, float]]] = {name: {} for name in backends}
    names = list(backends)
    for turn, collection in enumerate(args.collections):
        folder = COLLECTIONS / collection
        if not (folder / "corpus.jsonl").is_file():
            print(f"skipping {collection}: {folder} not found", file=sys.stderr)
            continue
        corpus, queries, qrels = load_sample(folder, args.queries, args.docs, args.seed)
        doc_ids, qids = list(corpus), list(queries)
        masks = plain_model.preprocess(list(corpus.values()))["attention_mask"]  # truncated as encode does
        flop_done += sum(flop_per_text(int(mask.sum()), *shape) for mask in masks)
        results: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            start = time.perf_counter()
            doc_vectors = np.asarray(backends[name](list(corpus.values())), dtype=np.float32)
            seconds[name] += time.perf_counter() - start
            texts_done[name] += len(corpus)
            results[name] = top10(doc_vectors, np.asarray(backends[name](list(queries.values())), dtype=np.float32))
        base_order, base_scores = results["plain"]
        base_ndcg = ndcg10(doc_ids, qids, base_order, base_scores, qrels)
        for name, (order, scores) in results.items():
            overlap = np.mean([len(set(order[r]) & set(base_order[r])) / 10 for r in range(len(qids))])
            per_collection[name][collection] = {
                "docs": len(doc_ids),
                "queries": len(qids),
                "top10_overlap": round(float(overlap), 4),
                "ndcg10": round(ndcg10(doc_ids, qids, order, scores, qrels), 4),
                "ndcg10_delta": round(ndcg10(doc_ids, qids, order, scores, qrels) - base_ndcg, 4),
            }
            print(f"{collection:10s} {name:10s} {per_collection[name][collection]}", file=sys.stderr)
        if args.json:  # after every collection, so a run cut short still leaves its figures
            rows = summarise(seconds, texts_done, per_collection, device, flop_done, gemm_peak)
            args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")

    rows = summarise(seconds, texts_done, per_collection, device, flop_done, gemm_peak)
    print(f"{'backend':10s} {'texts/s':>8s} {'speedup':>8s} {'top10':>6s} {'dNDCG':>7s} {'GFLOP/s':>8s} faithful")
    for row in rows:
        print(
            f"{row['backend']:10s} {row['texts_per_s']:8.1f} {row['speedup_vs_plain']:7.2f}x "
            f"{row['top10_overlap']:6.3f} {row['ndcg10_delta']:+7.4f} {row['gflop_per_s']:8.1f} {row['faithful']}"
        )
    print(f"fp32 matrix multiply on the feed-forward shape: {gemm_peak:.1f} GFLOP/s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
