"""The embedding map of one Explore view: the query, its candidates and a sample of the collection in 2D.

Where the answer sits tells two failures apart: far from the query, the embedder does not see the match
(an embedding problem, no reranker fixes it unless it is among the candidates); near the query but ranked
low, the ranking is at fault (what a reranker is for).

Own and attached (snapshot) collections place the candidates with their stored vectors, through the
collection's cached projection (``projection.py``), among the sample it was fitted on. A live connection
(a Chroma server, whose content moves under us) maps the candidates alone, embedded with the collection's
embedder, in a projection fitted on them. A logged retrieval records no vectors and no embedder: no map,
and ``absent`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from reranklens.explain.projection import (
    SAMPLE_SIZE,
    UMAP_HINT,
    Method,
    Progress,
    Projection,
    cached_projection,
    default_method,
    preview,
)
from reranklens.explain.rank_flow import QueryGrades
from reranklens.retrieve.attach import AttachedStore
from reranklens.types import Chunk
from reranklens.views.explore import ExploreView
from reranklens.workspace import Workspace

PointKind = Literal["query", "both", "first", "second", "candidate", "sample"]
KIND_LABELS: dict[str, str] = {
    "query": "the query",
    "both": "top-k before and after",
    "first": "top-k before only",
    "second": "top-k after only",
    "candidate": "other candidates",
    "sample": "sample of the collection",
}


@dataclass(frozen=True)
class MapPoint:
    """One dot: raw document strings (``source``, ``heading``, ``preview``) are escaped when drawn."""

    kind: PointKind
    x: float
    y: float
    chunk_id: str = ""
    source: str = ""
    heading: str = ""
    preview: str = ""
    first_rank: int | None = None
    second_rank: int | None = None
    grade: int | None = None


@dataclass(frozen=True)
class EmbeddingMap:
    query: str
    k: int
    left_title: str
    right_title: str
    points: tuple[MapPoint, ...] = ()
    method: Method = "pca"
    note: str = ""
    absent: str | None = None  # why there is no map

    def of_kind(self, *kinds: str) -> list[MapPoint]:
        return [p for p in self.points if p.kind in kinds]


def _kind(left_rank: int | None, right_rank: int | None, k: int) -> PointKind:
    before = left_rank is not None and left_rank <= k
    after = right_rank is not None and right_rank <= k
    return "both" if before and after else "first" if before else "second" if after else "candidate"


def _empty(view: ExploreView, reason: str) -> EmbeddingMap:
    return EmbeddingMap(view.query, view.k, view.left_title, view.right_title, absent=reason)


def embedding_map(
    workspace: Workspace,
    view: ExploreView,
    grades: QueryGrades | None = None,
    progress: Progress | None = None,
    sample_size: int = SAMPLE_SIZE,
    method: Method | None = None,
) -> EmbeddingMap:
    """The map of ``view``'s query and candidates (see the module docstring for which vectors are used).

    ``progress`` is told when the collection's projection must be fitted (once per revision).
    """
    if view.left.mode == "logged":
        return _empty(
            view,
            f"No embedding map: trace set '{view.collection}' logs neither vectors nor the embedder its "
            "application used, so its candidates cannot be placed.",
        )
    collection = view.collection
    store = workspace.store_for(collection)
    embedder = workspace.collection_embedder(collection)
    query_vector = workspace.query_vectors.get((embedder.name, view.query))
    if query_vector is None:
        query_vector = embedder.embed_query(view.query)
    rows = list(view.rows)
    chunks: list[Chunk] = [r.chunk for r in rows]
    method = method or default_method()
    live = isinstance(store, AttachedStore) and store.attachment.is_server
    if live:
        if len(chunks) < 2:
            return _empty(
                view, f"No embedding map: '{collection}' returned {len(chunks)} candidate(s), too few to map."
            )
        vectors = embedder.embed_documents([c.passage for c in chunks]) if chunks else np.zeros((0, 0))
        projection = _fit_on(np.vstack([query_vector[None, :], vectors]) if chunks else query_vector[None, :])
        note = (
            f"PCA of the query and its {len(chunks)} candidates alone, embedded with '{embedder.name}': "
            f"'{collection}' is a live connection, so no sample of it is kept."
        )
    else:
        stored = store.vectors(collection, [c.chunk_id for c in chunks])
        rows = [r for r in rows if r.chunk.chunk_id in stored]
        vectors = np.stack([stored[r.chunk.chunk_id] for r in rows]) if rows else np.zeros((0, len(query_vector)))
        metadata = store.metadata(collection)
        projection = cached_projection(
            store,
            collection,
            str(metadata.get("revision", "")),
            store.info(collection).chunk_count,
            embedder.name,
            workspace.settings.data_dir,
            method,
            sample_size,
            progress,
        )
        note = (
            f"{projection.method.upper()} fitted on {len(projection.sample_ids):,} chunks of '{collection}' "
            f"spread over {projection.documents:,} documents; the query and its candidates are placed by the "
            "same fit."
        )
    if projection.method == "pca":
        note += f" {UMAP_HINT}"
    points: list[MapPoint] = []
    candidate_ids = {r.chunk.chunk_id for r in rows}
    if not live:
        points += [
            MapPoint("sample", float(x), float(y), chunk_id, *labels)
            for chunk_id, (x, y), labels in zip(
                projection.sample_ids, projection.sample_xy, projection.sample_labels, strict=True
            )
            if chunk_id not in candidate_ids
        ]
    xy = projection.transform(vectors) if len(rows) else np.zeros((0, 2))
    for row, (x, y) in zip(rows, xy, strict=True):
        points.append(
            MapPoint(
                _kind(row.left_rank, row.right_rank, view.k),
                float(x),
                float(y),
                row.chunk.chunk_id,
                row.chunk.source,
                row.chunk.heading,
                preview(row.chunk.text),
                row.left_rank,
                row.right_rank,
                grades.grade(row.chunk) if grades is not None else None,
            )
        )
    (qx, qy) = projection.transform(query_vector[None, :])[0]
    points.append(MapPoint("query", float(qx), float(qy), preview=view.query))
    return EmbeddingMap(view.query, view.k, view.left_title, view.right_title, tuple(points), projection.method, note)


def _fit_on(vectors: np.ndarray) -> Projection:
    """A PCA of ``vectors`` themselves (a live connection's candidates): nothing is cached."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver="full").fit(np.asarray(vectors, dtype=np.float64))
    return Projection("pca", "", (), np.zeros((0, 2)), (), mean=pca.mean_, components=pca.components_)
