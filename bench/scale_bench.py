"""A big collection: vector and hybrid query latency, BM25 index load time and memory at N chunks.

The collection holds the shared BEIR collections' documents (cranfield, cisi, cacm, ...) repeated
under distinct ids until it has ``--chunks`` chunks. Each distinct text is embedded once (ONNX
fp32, the default embedder); a repeat gets its vector plus a little seeded noise, re-normalised, so
HNSW does not see thousands of exact duplicates (which real collections do not have and which
degrade its graph). Then, in a fresh process (as a user's next command or a restarted app):

- ``bm25_load_s``: the first ``Workspace.bm25_index`` call once the store is open, i.e. checking the
  fingerprint and loading the persisted index (opening Chroma is ``store_open_s``);
- ``vector_p50_ms`` / ``hybrid_p50_ms``: median ``Workspace.search`` time over distinct queries
  (embedding included, 50 candidates, after one warm-up query);
- ``rss_mb``: the process's peak resident memory at the end (``VmHWM``: ``ru_maxrss`` would carry
  over the building parent's peak through ``fork``/``exec`` and report it as this process's).

Building (Chroma's HNSW inserts and the one BM25 build) is reported as ``build_s`` and
``bm25_build_s``. ``--keep DIR`` keeps the data dir, so a second run at the same size skips the build.

    nice python bench/scale_bench.py --chunks 200000 --json bench-scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from peak_memory import peak_rss_mb

COLLECTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "collections"
NAME = "scale"
NOISE = 0.02


def base_texts(limit: int) -> list[tuple[str, str]]:
    """(doc_id, text) from every shared collection, up to ``limit`` distinct texts."""
    texts: list[tuple[str, str]] = []
    for folder in sorted(COLLECTIONS.iterdir()):
        corpus = folder / "corpus.jsonl"
        if not corpus.is_file():
            continue
        with corpus.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                text = f"{row.get('title') or ''}\n{row.get('text') or ''}".strip()
                if text:
                    texts.append((f"{folder.name}-{row['_id']}", text[:1500]))
                if len(texts) >= limit:
                    return texts
    return texts


def build(data_dir: Path, chunks: int, distinct: int) -> dict[str, float]:
    from reranklens.config import DEFAULT_EMBEDDER, Settings
    from reranklens.types import Chunk
    from reranklens.workspace import Workspace

    workspace = Workspace(Settings.from_env(data_dir=data_dir))
    base = base_texts(distinct)
    start = time.perf_counter()
    vectors = workspace.embedder(DEFAULT_EMBEDDER).embed_documents([text for _, text in base])
    embed_s = time.perf_counter() - start
    rng = np.random.default_rng(7)
    store = workspace.store
    store.create(NAME, DEFAULT_EMBEDDER)
    start = time.perf_counter()
    batch = 5_000
    for offset in range(0, chunks, batch):
        size = min(batch, chunks - offset)
        rows = [(offset + i) % len(base) for i in range(size)]
        noisy = vectors[rows] + rng.normal(0, NOISE, (size, vectors.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        batch_chunks = [
            Chunk(
                chunk_id=f"c{offset + i}",
                doc_id=f"{base[row][0]}-r{(offset + i) // len(base)}",
                text=base[row][1],
                source=base[row][0],
                position=0,
                char_end=len(base[row][1]),
            )
            for i, row in enumerate(rows)
        ]
        store.add(NAME, batch_chunks, noisy, {c.doc_id: "bench" for c in batch_chunks})
        print(f"  added {offset + size:,} chunks ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    build_s = time.perf_counter() - start
    store.update_metadata(NAME, doc_count=chunks)
    start = time.perf_counter()
    workspace.bm25_index(NAME)
    return {
        "distinct_texts": len(base),
        "embed_distinct_s": round(embed_s, 1),
        "build_s": round(build_s, 1),
        "bm25_build_s": round(time.perf_counter() - start, 1),
    }


def measure(data_dir: Path, queries: int) -> dict[str, float]:
    """Run in a fresh process: load, query, report."""
    from reranklens.config import Settings
    from reranklens.golden.beir import read_queries
    from reranklens.workspace import Workspace

    start = time.perf_counter()
    workspace = Workspace(Settings.from_env(data_dir=data_dir))
    workspace.store.info(NAME)  # import chromadb and open the store: not BM25's cost
    store_open_s = time.perf_counter() - start
    start = time.perf_counter()
    workspace.bm25_index(NAME)
    bm25_load_s = time.perf_counter() - start
    texts = [
        text
        for name in ("cranfield", "cisi", "cacm")
        if (COLLECTIONS / name / "queries.jsonl").is_file()
        for text in read_queries(COLLECTIONS / name / "queries.jsonl").values()
    ]
    texts = texts[: 2 * queries + 2]
    workspace.search(texts[0], NAME, "hybrid", 50)  # warm-up: ORT session, Chroma segment load
    vector_ms, hybrid_ms = [], []
    for i in range(queries):
        for mode, sink, text in (("vector", vector_ms, texts[1 + 2 * i]), ("hybrid", hybrid_ms, texts[2 + 2 * i])):
            start = time.perf_counter()
            result = workspace.search(text, NAME, mode, 50)
            sink.append((time.perf_counter() - start) * 1000)
            if not result.hits:
                raise SystemExit(f"no hits for {text!r}")
    return {
        "chunks": workspace.store.info(NAME).chunk_count,
        "vector_p50_ms": round(statistics.median(vector_ms), 1),
        "hybrid_p50_ms": round(statistics.median(hybrid_ms), 1),
        "bm25_load_s": round(bm25_load_s, 3),
        "store_open_s": round(store_open_s, 2),
        "rss_mb": round(peak_rss_mb(), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=200_000)
    parser.add_argument("--distinct", type=int, default=2_000, help="distinct texts embedded (then repeated)")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="data dir to build into and keep (reused when it holds the size)")
    parser.add_argument("--json", type=Path, help="write the result object here")
    parser.add_argument("--measure-only", type=Path, help=argparse.SUPPRESS)  # the fresh-process half
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.measure_only:
        print(json.dumps(measure(args.measure_only, args.queries)))
        return 0

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="reranklens-scale-")) / "store"
    marker = data_dir / f".scale-{args.chunks}"
    built: dict[str, float] = {}
    if not marker.is_file():
        built = build(data_dir, args.chunks, args.distinct)
        marker.write_text(json.dumps(built))
    else:
        built = json.loads(marker.read_text())
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, __file__, "--measure-only", str(data_dir), "--queries", str(args.queries)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    result = json.loads(done.stdout.strip().splitlines()[-1]) | built
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
