"""The reranker's backends (torch, ONNX fp32, ONNX int8), their on-disk exports, token budget,
stage timings and the score cache's keys.

Correctness only: the scores of each backend against the PyTorch model on fixed pairs. Speed is
measured by bench/rerank_bench.py, never here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import CrossEncoder

from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.rerank.onnx_backend import export_path, weights_fingerprint
from reranklens.rerank.rerankers import (
    CPU_DEFAULT_BACKEND,
    CrossEncoderReranker,
    length_batches,
    make_reranker,
    rerank,
    resolve_backend,
)
from reranklens.rerank.score_cache import ScoreCache
from reranklens.retrieve.search import Stopwatch
from reranklens.types import Chunk, Hit

QUERY = "when do backups run"
PASSAGES = (
    "Backups run every night at two in the morning.",
    "Reset your password from the account settings page.",
    "The CLI prints one JSON object with --json.",
    "Snapshots of each volume are kept for thirty days before deletion, unless a legal hold applies.",
    "Backups.",
    "The nightly backup of every volume runs at two in the morning. " * 12,
)


@pytest.fixture(scope="module")
def spread_model_dir(test_cross_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test cross-encoder with its head scaled up, so logits spread over several units (an
    untrained head's logits all sit near 0 and differences would vanish in any tolerance)."""
    model = CrossEncoder(str(test_cross_encoder_dir))
    with torch.no_grad():
        model.model.classifier.weight.mul_(200.0)
        model.model.classifier.bias.fill_(0.5)
    path = tmp_path_factory.mktemp("models") / "spread-cross-encoder"
    model.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def backends(spread_model_dir: Path, export_dir: Path) -> dict[str, CrossEncoderReranker]:
    return {
        backend: CrossEncoderReranker(str(spread_model_dir), backend=backend, export_dir=export_dir)
        for backend in ("torch", "onnx", "onnx-int8")
    }


def raw_scores(reranker: CrossEncoderReranker, passages: tuple[str, ...] = PASSAGES) -> np.ndarray:
    return np.array([s.raw for s in reranker.score(QUERY, list(passages))])


def test_torch_backend_matches_plain_cross_encoder_predict(backends: dict[str, CrossEncoderReranker]) -> None:
    plain = backends["torch"].model.predict(
        [(QUERY, p) for p in PASSAGES], activation_fn=torch.nn.Identity(), show_progress_bar=False
    )
    assert np.ptp(plain) > 1.0, "the fixture must spread the logits for the comparison to mean anything"
    np.testing.assert_allclose(raw_scores(backends["torch"]), plain, atol=1e-4)


def test_onnx_fp32_matches_torch(backends: dict[str, CrossEncoderReranker]) -> None:
    np.testing.assert_allclose(raw_scores(backends["onnx"]), raw_scores(backends["torch"]), atol=1e-3)


def test_onnx_fp32_is_independent_of_batch_composition(spread_model_dir: Path, export_dir: Path) -> None:
    """Padding a short pair to a long one in the same batch must not change its score."""
    one_at_a_time = CrossEncoderReranker(str(spread_model_dir), batch_size=1, backend="onnx", export_dir=export_dir)
    all_at_once = CrossEncoderReranker(str(spread_model_dir), batch_size=64, backend="onnx", export_dir=export_dir)
    np.testing.assert_allclose(raw_scores(one_at_a_time), raw_scores(all_at_once), atol=1e-3)


def test_onnx_int8_stays_close_to_torch(backends: dict[str, CrossEncoderReranker]) -> None:
    reference = raw_scores(backends["torch"])
    quantized = raw_scores(backends["onnx-int8"])
    # int8 rounds every activation: close, not equal. Ranking fidelity on a trained model is what
    # bench/rerank_bench.py measures; here: same order on clearly separated scores, small error.
    assert np.max(np.abs(quantized - reference)) <= 0.25 * np.ptp(reference)
    assert np.corrcoef(quantized, reference)[0, 1] > 0.95
    assert list(np.argsort(quantized)) == list(np.argsort(reference))


def test_tokens_seen_do_not_depend_on_the_backend(backends: dict[str, CrossEncoderReranker]) -> None:
    seen = {name: [s.tokens_seen for s in r.score(QUERY, list(PASSAGES))] for name, r in backends.items()}
    assert seen["torch"] == seen["onnx"] == seen["onnx-int8"]


def test_export_is_cached_on_disk_and_reused(spread_model_dir: Path, export_dir: Path) -> None:
    first = CrossEncoderReranker(str(spread_model_dir), backend="onnx", export_dir=export_dir)
    path = export_path(export_dir, weights_fingerprint(first.model.transformers_model), "fp32")
    assert path.is_file()
    written = path.stat().st_mtime_ns

    CrossEncoderReranker(str(spread_model_dir), backend="onnx", export_dir=export_dir)

    assert path.stat().st_mtime_ns == written
    assert not [p for p in export_dir.iterdir() if p.name.startswith(".export-")], "no temporary folder left"


def test_changed_weights_get_a_new_export(spread_model_dir: Path, export_dir: Path, tmp_path: Path) -> None:
    model = CrossEncoder(str(spread_model_dir))
    before = weights_fingerprint(model.model)
    with torch.no_grad():
        model.model.classifier.bias.fill_(-3.0)
    model.save_pretrained(str(tmp_path / "retrained"))

    retrained = CrossEncoderReranker(str(tmp_path / "retrained"), backend="onnx", export_dir=export_dir)

    assert weights_fingerprint(retrained.model.transformers_model) != before
    original = CrossEncoderReranker(str(spread_model_dir), backend="onnx", export_dir=export_dir)
    np.testing.assert_allclose(raw_scores(retrained), raw_scores(original) - 3.5, atol=1e-3)


def test_token_budget_caps_what_the_model_reads(spread_model_dir: Path, export_dir: Path) -> None:
    budget = CrossEncoderReranker(str(spread_model_dir), max_tokens=64, export_dir=export_dir)
    full = CrossEncoderReranker(str(spread_model_dir), export_dir=export_dir)

    long_budget, long_full = budget.score(QUERY, [PASSAGES[-1]])[0], full.score(QUERY, [PASSAGES[-1]])[0]

    assert budget.max_tokens == 64
    assert long_budget.tokens_seen < long_full.tokens_seen
    assert long_budget.tokens_total == long_full.tokens_total
    assert budget.cache_key != full.cache_key


def test_token_budget_below_the_minimum_is_refused(spread_model_dir: Path) -> None:
    with pytest.raises(InvalidInputError, match="at least"):
        CrossEncoderReranker(str(spread_model_dir), max_tokens=4)


def test_unknown_backend_is_a_one_line_error(spread_model_dir: Path) -> None:
    with pytest.raises(InvalidInputError, match="Unknown reranker backend 'tensorrt'"):
        CrossEncoderReranker(str(spread_model_dir), backend="tensorrt")


def test_auto_uses_the_gpu_with_torch_and_the_measured_default_on_cpu() -> None:
    assert resolve_backend("auto", "cuda:0") == "torch"
    assert resolve_backend("auto", "mps") == "torch"
    assert resolve_backend("auto", "cpu") == CPU_DEFAULT_BACKEND
    assert resolve_backend("onnx", "cpu") == "onnx"


def test_settings_choose_backend_budget_and_export_dir(
    spread_model_dir: Path, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKLENS_RERANK_BACKEND", "ONNX")
    monkeypatch.setenv("RERANKLENS_RERANK_MAX_TOKENS", "96")
    monkeypatch.setenv("RERANKLENS_EXPORT_DIR", str(export_dir))

    reranker = make_reranker(str(spread_model_dir), Settings.from_env())

    assert isinstance(reranker, CrossEncoderReranker)
    assert (reranker.backend, reranker.max_tokens) == ("onnx", 96)


def test_length_batches_group_similar_lengths() -> None:
    lengths = [50, 3, 40, 4, 41, 2]
    batches = length_batches(lengths, 2)
    assert batches == [[5, 1], [3, 2], [4, 0]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_score_records_tokenize_model_and_post_stages(backends: dict[str, CrossEncoderReranker]) -> None:
    watch = Stopwatch()
    backends["onnx"].score(QUERY, list(PASSAGES), watch)
    assert set(watch.timings_ms) == {"rerank_tokenize", "rerank_model", "rerank_post"}
    assert watch.timings_ms["rerank_model"] > 0


def _hits(passages: tuple[str, ...]) -> tuple[Hit, ...]:
    return tuple(
        Hit(Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", text=p, source="s", position=0), rank=i + 1, score=1.0 - i / 10)
        for i, p in enumerate(passages)
    )


def _count_model_rows(reranker: CrossEncoderReranker, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many (query, passage) rows each call of the real model scored, appended as it runs."""
    rows: list[int] = []
    forward = reranker._forward

    def counting_forward(features: dict[str, np.ndarray]) -> np.ndarray:
        rows.append(len(features["input_ids"]))
        return forward(features)

    monkeypatch.setattr(reranker, "_forward", counting_forward)
    return rows


def test_cache_answers_a_repeated_query_identically_without_the_model(
    backends: dict[str, CrossEncoderReranker], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache: ScoreCache = ScoreCache()
    model_rows = _count_model_rows(backends["onnx"], monkeypatch)
    first = rerank(backends["onnx"], QUERY, _hits(PASSAGES), cache)
    assert (cache.hits, cache.misses, len(cache)) == (0, len(PASSAGES), len(PASSAGES))
    assert sum(model_rows) == len(PASSAGES)

    again = rerank(backends["onnx"], QUERY, _hits(PASSAGES), cache)

    assert [(r.hit.chunk.chunk_id, r.raw_score) for r in again.hits] == [
        (r.hit.chunk.chunk_id, r.raw_score) for r in first.hits
    ]
    # Every passage was a hit and nothing new missed: the model saw no row the second time.
    assert (cache.hits, cache.misses) == (len(PASSAGES), len(PASSAGES))
    assert sum(model_rows) == len(PASSAGES)
    assert again.timings_ms["rerank_model"] == 0.0


def test_cache_is_invalidated_by_another_backend_or_budget(
    backends: dict[str, CrossEncoderReranker], spread_model_dir: Path, export_dir: Path
) -> None:
    cache: ScoreCache = ScoreCache()
    rerank(backends["onnx"], QUERY, _hits(PASSAGES), cache)
    assert (cache.hits, cache.misses) == (0, len(PASSAGES))

    rerank(backends["onnx-int8"], QUERY, _hits(PASSAGES), cache)
    # int8 scores must not be served from the fp32 entries: every passage missed again.
    assert (cache.hits, cache.misses) == (0, 2 * len(PASSAGES))

    budget = CrossEncoderReranker(str(spread_model_dir), backend="onnx", export_dir=export_dir, max_tokens=64)
    rerank(budget, QUERY, _hits(PASSAGES), cache)
    # nor are the scores of a model that read fewer tokens
    assert (cache.hits, cache.misses) == (0, 3 * len(PASSAGES))
    assert len({r.cache_key for r in (*backends.values(), budget)}) == 4
    assert len(cache) == 3 * len(PASSAGES)

    rerank(backends["onnx-int8"], QUERY, _hits(PASSAGES), cache)
    assert (cache.hits, cache.misses) == (len(PASSAGES), 3 * len(PASSAGES))
