"""The embedding map at collection scale: fitting the projection once, and drawing a map once it is cached.

The collection is the shared BEIR collection npl (11,426 short documents, one chunk each: about 12,000
chunks), embedded once with the default embedder (``--keep DIR`` keeps the data dir, so a second run skips
that). Measured, each the median of ``--repeat`` runs:

- ``fit_s``: a cold ``cached_projection`` (read the chunks, pick 1,000 spread over documents, read their
  stored vectors, PCA, save): goal < 30 s, and it runs once per collection revision;
- ``draw_ms``: with the projection cached, ``embedding_map`` for a query's N=50 candidates plus the 1,000
  sampled chunks, and its Plotly figure serialised as the page sends it: goal < 1 s after the results;
- ``search_ms``: the query's own vector search (the baseline, run side by side), and the ratio draw/search.

    nice python bench/map_bench.py --keep /tmp/map-bench
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "collections"
NAME = "npl"
QUERIES = (
    "radio wave propagation in the ionosphere",
    "transistor amplifier noise",
    "microwave antenna design",
    "power supply regulation circuits",
    "magnetic storage of digital data",
)


def build(data_dir: Path) -> float:
    """Ingest npl (one chunk per document) with the default embedder; the seconds it took."""
    from reranklens.config import DEFAULT_EMBEDDER, Settings
    from reranklens.types import Chunk
    from reranklens.workspace import Workspace

    workspace = Workspace(Settings.from_env(data_dir=data_dir))
    if workspace.store.exists(NAME):
        return 0.0
    rows = [json.loads(line) for line in (COLLECTIONS / NAME / "corpus.jsonl").open(encoding="utf-8")]
    texts = [f"{r.get('title') or ''}\n{r.get('text') or ''}".strip()[:1500] for r in rows]
    started = time.perf_counter()
    vectors = workspace.embedder(DEFAULT_EMBEDDER).embed_documents(texts)
    chunks = [
        Chunk(f"npl-{r['_id']}", f"npl-{r['_id']}", text, f"npl/{r['_id']}", 0, char_end=len(text))
        for r, text in zip(rows, texts, strict=True)
    ]
    workspace.store.create(NAME, DEFAULT_EMBEDDER)
    workspace.store.add(NAME, chunks, vectors, {c.doc_id: "bench" for c in chunks})
    return time.perf_counter() - started


def measure(data_dir: Path, repeat: int) -> dict[str, float]:
    from reranklens.config import Settings
    from reranklens.explain.charts import map_figure
    from reranklens.explain.embedding_map import embedding_map
    from reranklens.explain.projection import MAP_DIR, cached_projection
    from reranklens.views.explore import alternative_view
    from reranklens.workspace import Workspace

    workspace = Workspace(Settings.from_env(data_dir=data_dir))
    store = workspace.store
    count = store.info(NAME).chunk_count
    revision = str(store.metadata(NAME).get("revision", ""))
    embedder = workspace.collection_embedder_name(NAME)
    fits = []
    for _ in range(repeat):
        shutil.rmtree(data_dir / MAP_DIR, ignore_errors=True)
        started = time.perf_counter()
        cached_projection(
            store, NAME, revision, count, embedder, data_dir, "pca", progress=lambda m: print(m, file=sys.stderr)
        )
        fits.append(time.perf_counter() - started)
    workspace.search(QUERIES[0], NAME, "vector", 50)  # warm-up: loads the embedder
    draws, searches = [], []
    for query in QUERIES * max(1, repeat // len(QUERIES) + 1):
        started = time.perf_counter()
        search = workspace.search(query, NAME, "vector", 50)
        searches.append(time.perf_counter() - started)
        view = alternative_view(search, search, 3)  # the map needs a view; no reranker cost in this figure
        started = time.perf_counter()
        emap = embedding_map(workspace, view, method="pca")
        map_figure(emap).to_json()
        draws.append(time.perf_counter() - started)
        assert len(emap.points) >= 1_000, len(emap.points)
    draw_ms, search_ms = statistics.median(draws) * 1000, statistics.median(searches) * 1000
    return {
        "chunks": count,
        "fit_s": round(statistics.median(fits), 2),
        "draw_ms": round(draw_ms, 1),
        "search_ms": round(search_ms, 1),
        "draw_over_search": round(draw_ms / search_ms, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="data dir to build in and keep (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="map-bench-"))
    built = build(data_dir)
    results = {"build_s": round(built, 1), **measure(data_dir, args.repeat)}
    print(json.dumps(results, indent=2))
    if args.keep is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
