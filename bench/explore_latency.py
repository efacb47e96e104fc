"""End-to-end latency of an Explore query, first time and repeated (served from the caches).

Runs ``Workspace.explore`` (embed the query, Chroma top-N, rerank, assemble the view) on the
bundled demo collection in a throw-away data dir: each demo golden query once cold, then again.
The repeated run is what a Streamlit rerun or a second look at the same query costs.

    python bench/explore_latency.py --model DIR [--backend auto] [--candidates 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from reranklens.config import DEMO_DIR, Settings
from reranklens.ingest.demo import DEMO_COLLECTION
from reranklens.workspace import Workspace


def demo_queries(limit: int) -> list[str]:
    lines = (DEMO_DIR / "golden" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()][:limit]


def timed_ms(workspace: Workspace, query: str, candidates: int) -> float:
    start = time.perf_counter()
    workspace.explore(query, DEMO_COLLECTION, "vector", candidates, 3)
    return (time.perf_counter() - start) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="cross-encoder name or directory")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--queries", type=int, default=15)
    parser.add_argument("--export-dir", type=Path)
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="explore-latency-"))
    settings = Settings.from_env(
        data_dir=data_dir, reranker=args.model, rerank_backend=args.backend, export_dir=args.export_dir
    )
    workspace = Workspace(settings)
    workspace.ingest_demo()
    queries = demo_queries(args.queries)
    timed_ms(workspace, "warm up the models", args.candidates)
    cold = [timed_ms(workspace, query, args.candidates) for query in queries]
    repeated = [timed_ms(workspace, query, args.candidates) for query in queries]
    backend = getattr(workspace.reranker(), "backend", "?")
    print(f"demo collection, {len(queries)} queries x {args.candidates} candidates, backend {backend}")
    print(f"first time : median {statistics.median(cold):8.1f} ms   max {max(cold):8.1f} ms")
    print(f"repeated   : median {statistics.median(repeated):8.1f} ms   max {max(repeated):8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
