"""A 2D projection of a collection's embedding space, fitted once per collection revision and cached.

PCA (scikit-learn) by default: linear, so a new query is placed by the very same transform, fits in well
under a second on 1,000 vectors and is deterministic. UMAP (``umap-learn``, the optional extra
``reranklens[umap]``) when it is installed: it keeps neighbourhoods better, at a longer fit.

The fit uses a sample of at most ``SAMPLE_SIZE`` chunks spread over documents (every document's first
chunk, then every second chunk, ...), so one long manual does not fill the map. The fitted model, the
sample's ids, coordinates and hover labels are saved under ``data_dir/maps/<collection>/<key>`` where the
key covers the collection's revision, its chunk count, its embedder, the method and the sample size: a
changed collection gets a new key and the old files are removed. PCA is saved as plain arrays (``.npz``,
no pickle); a UMAP model only pickles (``joblib``), from our own data dir.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from reranklens.errors import InvalidInputError
from reranklens.types import Chunk

log = logging.getLogger(__name__)

SAMPLE_SIZE = 1_000
MAP_DIR = "maps"
PREVIEW_CHARS = 160
# Bump when the sampling or the saved layout changes, so cached projections are fitted again.
RECIPE = "spread-1"
UMAP_HINT = "UMAP keeps neighbourhoods better: pip install 'reranklens[umap]' (umap-learn)."
Method = Literal["pca", "umap"]
Progress = Callable[[str], None]


class ReadableStore(Protocol):
    """What a projection reads from a store (``VectorStore`` and ``AttachedStore`` both have it)."""

    def all_chunks(self, name: str) -> Any: ...

    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]: ...


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def default_method() -> Method:
    return "umap" if umap_available() else "pca"


def preview(text: str) -> str:
    """The first ``PREVIEW_CHARS`` characters of a chunk on one line (hover text; escaped when drawn)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


@dataclass(frozen=True)
class Projection:
    """A fitted 2D projection and the sample it was fitted on (ids, coordinates, hover labels)."""

    method: Method
    key: str
    sample_ids: tuple[str, ...]
    sample_xy: np.ndarray
    sample_labels: tuple[tuple[str, str, str], ...]  # (source, heading, preview) per sample chunk
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    model: Any = None
    documents: int = 0

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """``(n, dim)`` vectors -> ``(n, 2)`` map coordinates; for PCA exactly scikit-learn's
        ``PCA.transform`` (centre with the fitted mean, project on the two components)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        if self.method == "pca":
            if self.mean is None or self.components is None:
                raise ValueError("a PCA projection needs its mean and components")
            if vectors.shape[1] != self.mean.shape[0]:
                raise InvalidInputError(
                    f"Vectors of dimension {vectors.shape[1]} cannot be placed on a map fitted on dimension "
                    f"{self.mean.shape[0]}: the collection's embedder changed; draw the map again."
                )
            return (vectors - self.mean) @ self.components.T
        return np.asarray(self.model.transform(vectors), dtype=np.float64)


def spread_sample(chunks: Sequence[Chunk], n: int = SAMPLE_SIZE) -> list[Chunk]:
    """At most ``n`` chunks spread over documents: each document's first chunk, then each one's second,
    and so on; the round that does not fit whole is thinned evenly (so are documents, when there are
    more than ``n``).

    >>> from reranklens.types import Chunk
    >>> cs = [Chunk(f"{d}-{i}", d, "t", "s", i) for d in "ab" for i in range(3)]
    >>> [c.chunk_id for c in spread_sample(cs, 3)]
    ['a-0', 'b-0', 'a-1']
    """
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    picked: list[Chunk] = []
    depth = 0
    while len(picked) < n:
        round_ = [doc[depth] for doc in by_doc.values() if depth < len(doc)]
        if not round_:
            break
        room = n - len(picked)
        if len(round_) <= room:
            picked += round_
        else:
            picked += [round_[int(i * len(round_) / room)] for i in range(room)]
        depth += 1
    return picked


def projection_key(collection: str, revision: str, count: int, embedder: str, method: Method, sample: int) -> str:
    text = f"{collection}|{revision}|{count}|{embedder}|{method}|{sample}|{RECIPE}"
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def fit_projection(
    store: ReadableStore,
    collection: str,
    key: str,
    method: Method = "pca",
    sample_size: int = SAMPLE_SIZE,
    progress: Progress | None = None,
) -> Projection:
    """Fit a projection on a spread sample of ``collection``'s stored vectors."""
    started = time.perf_counter()
    chunks = store.all_chunks(collection).chunks
    sample = spread_sample(chunks, sample_size)
    if len(sample) < 2:
        raise InvalidInputError(
            f"Collection '{collection}' holds {len(chunks)} chunk(s): a map needs at least 2. Ingest more documents."
        )
    if progress is not None:
        progress(
            f"Fitting the map of '{collection}' ({method.upper()} on {len(sample):,} of {len(chunks):,} chunks): "
            "once per collection revision."
        )
    stored = store.vectors(collection, [c.chunk_id for c in sample])
    sample = [c for c in sample if c.chunk_id in stored]
    vectors = np.stack([stored[c.chunk_id] for c in sample]).astype(np.float64)
    labels = tuple((c.source, c.heading, preview(c.text)) for c in sample)
    ids = tuple(c.chunk_id for c in sample)
    documents = len({c.doc_id for c in sample})
    if method == "umap":
        import umap

        model = umap.UMAP(n_components=2, metric="cosine", random_state=42).fit(vectors)
        projection = Projection(
            "umap", key, ids, np.asarray(model.embedding_), labels, model=model, documents=documents
        )
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, svd_solver="full").fit(vectors)
        projection = Projection(
            "pca",
            key,
            ids,
            pca.transform(vectors),
            labels,
            mean=pca.mean_,
            components=pca.components_,
            documents=documents,
        )
    log.info("fitted the %s map of '%s' in %.1f s", method, collection, time.perf_counter() - started)
    return projection


def save_projection(projection: Projection, folder: Path) -> None:
    """Write the projection under ``folder/<key>`` (atomically: a half-written one is never read) and
    remove the collection's older ones."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / projection.key
    partial = (
        folder / f".partial-{projection.key}-{os.getpid()}-{threading.get_ident()}"
    )  # two sessions may fit at once
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    arrays: dict[str, np.ndarray] = {
        "ids": np.asarray(projection.sample_ids, dtype=str),
        "xy": projection.sample_xy,
        "labels": np.asarray(projection.sample_labels, dtype=str).reshape(-1, 3),
        "documents": np.asarray(projection.documents),
    }
    if projection.method == "pca":
        arrays["mean"], arrays["components"] = projection.mean, projection.components  # type: ignore[assignment]
    else:
        import joblib

        joblib.dump(projection.model, partial / "umap.joblib")
    np.savez(partial / "projection.npz", **arrays)
    (partial / "method").write_text(projection.method, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(partial, target)
    except OSError:
        # Another session saved the same fit in between: keep theirs.
        shutil.rmtree(partial, ignore_errors=True)
        if not (target / "method").is_file():
            raise
    for stale in folder.iterdir():
        if stale.name != projection.key and not stale.name.startswith(".partial-"):
            shutil.rmtree(stale, ignore_errors=True)


def load_projection(folder: Path, key: str) -> Projection | None:
    """The cached projection ``key`` under ``folder``, or None when there is none."""
    target = folder / key
    if not (target / "method").is_file():
        return None
    method: Method = "umap" if (target / "method").read_text(encoding="utf-8") == "umap" else "pca"
    with np.load(target / "projection.npz", allow_pickle=False) as data:
        labels = tuple((str(s), str(h), str(p)) for s, h, p in data["labels"])
        common = {
            "sample_ids": tuple(str(i) for i in data["ids"]),
            "sample_xy": data["xy"],
            "sample_labels": labels,
            "documents": int(data["documents"]),
        }
        if method == "pca":
            return Projection("pca", key, mean=data["mean"], components=data["components"], **common)
    import joblib

    return Projection("umap", key, model=joblib.load(target / "umap.joblib"), **common)


def cached_projection(
    store: ReadableStore,
    collection: str,
    revision: str,
    count: int,
    embedder: str,
    data_dir: Path,
    method: Method | None = None,
    sample_size: int = SAMPLE_SIZE,
    progress: Progress | None = None,
) -> Projection:
    """The projection of this revision of ``collection``: loaded from the data dir, else fitted once and saved."""
    method = method or default_method()
    key = projection_key(collection, revision, count, embedder, method, sample_size)
    folder = data_dir / MAP_DIR / collection
    projection = load_projection(folder, key)
    if projection is None:
        projection = fit_projection(store, collection, key, method, sample_size, progress)
        save_projection(projection, folder)
    return projection
