"""Several users at once through one Workspace, as the app shares it (``st.cache_resource``):
threads searching, reranking and labeling together get one model instance each, and every label
written is stored (none lost to a race)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.golden.store import consensus_grade
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
USERS = 6
LABELS_PER_USER = 15
QUERIES = ["reset my password", "quokka colony", "rotate api keys", "billing invoice", "install the cli"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("concurrency") / "store"
    Workspace(Settings(data_dir=path)).ingest([FIXTURE_DOCS], "shared")
    return path


def together(users: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(user)`` for every user in its own thread, all released at the same moment."""
    barrier = threading.Barrier(users)

    def start(user: int) -> Any:
        barrier.wait(timeout=60)
        return work(user)

    with ThreadPoolExecutor(max_workers=users) as pool:
        return list(pool.map(start, range(users)))  # re-raises the first exception of any thread


def test_users_querying_and_labeling_at_once_share_models_and_lose_no_label(
    data_dir: Path, test_cross_encoder_dir: Path
) -> None:
    ws = Workspace(Settings(data_dir=data_dir, reranker=str(test_cross_encoder_dir)))  # nothing loaded yet
    reference = {q: [h.chunk.chunk_id for h in ws.search(q, "shared", "hybrid", 10).hits] for q in QUERIES[:2]}

    def user(number: int) -> dict[str, Any]:
        seen: dict[str, Any] = {"embedders": set(), "rerankers": set(), "labels": []}
        for round_ in range(LABELS_PER_USER):
            query = QUERIES[(number + round_) % len(QUERIES)]
            if round_ % 5 == 0:
                view, no_reranker = ws.explore(query, "shared", "vector", 10, 3)
                assert no_reranker is None and view.rerank is not None
                seen["rerankers"].add(id(ws.reranker()))
                hits = [row.chunk.chunk_id for row in view.rows]
            else:
                hits = [h.chunk.chunk_id for h in ws.search(query, "shared", "hybrid", 10).hits]
                if query in reference:
                    assert hits == reference[query]  # concurrent searches see the same ranking
            seen["embedders"].add(id(ws.collection_embedder("shared")))
            query_id = ws.golden.add_query("team", f"{query} #{number}")
            target = f"{hits[round_ % len(hits)]}:{number}:{round_}"
            ws.golden.judge("team", query_id, "chunk", target, round_ % 4, who=f"user-{number}")
            seen["labels"].append((query_id, target, round_ % 4, f"user-{number}"))
        return seen

    results = together(USERS, user)

    assert {e for r in results for e in r["embedders"]} == {id(ws.embedder())}
    assert {r for result in results for r in result["rerankers"]} == {id(ws.reranker())}
    assert len(ws._embedders) == 1 and len(ws.rerankers.keys) == 1
    # Every label is stored with the grade and the writer that wrote it (each target is written once).
    written = {label for r in results for label in r["labels"]}
    stored = {(j.query_id, j.target_id, j.grade, j.who) for j in ws.golden.judgements("team")}
    assert len(written) == USERS * LABELS_PER_USER
    assert stored == written


def test_users_grading_the_same_chunk_keep_one_judgement_each(data_dir: Path) -> None:
    """Re-grading replaces that person's grade only: each user is left with exactly their last write, whole
    (grade and note from the same call), never an earlier write nor a mix of two calls; the set uses the
    median of those last grades."""
    ws = Workspace(Settings(data_dir=data_dir))
    query_id = ws.golden.add_query("contested", "reset my password")
    rounds = 20

    def grade(number: int) -> tuple[str, int, str]:
        for round_ in range(rounds):
            ws.golden.judge(
                "contested",
                query_id,
                "chunk",
                "the-chunk",
                (number + round_) % 4,
                note=f"round {round_}",
                who=f"user-{number}",
            )
        return f"user-{number}", (number + rounds - 1) % 4, f"round {rounds - 1}"

    last_writes = {who: (grade_, note) for who, grade_, note in together(USERS, grade)}
    kept = ws.golden.person_judgements("contested")
    assert {j.who: (j.grade, j.note) for j in kept} == last_writes
    assert len(kept) == USERS
    [consensus] = ws.golden.judgements("contested")
    assert consensus.grade == consensus_grade([j.grade for j in kept], "median")


@pytest.fixture
def app_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    get_workspace.clear()
    yield
    get_workspace.clear()


def test_every_session_gets_the_one_cached_workspace(app_env: None) -> None:
    workspaces = together(USERS, lambda _: get_workspace())
    assert len({id(w) for w in workspaces}) == 1
    ws = workspaces[0]
    embedders = together(USERS, lambda _: ws.collection_embedder("shared"))
    assert len({id(e) for e in embedders}) == 1
