"""Shared fixtures: real models loaded once per session, a fresh data dir per test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

from reranklens.config import Settings
from reranklens.rerank.untrained import save_untrained_cross_encoder
from reranklens.workspace import Workspace

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# One ONNX export cache for the whole run (page tests' subprocesses inherit it): exports are keyed
# by the weights' fingerprint, so sharing is safe, and each test's fresh data dir skips re-exporting.
os.environ.setdefault("RERANKLENS_EXPORT_DIR", tempfile.mkdtemp(prefix="reranklens-test-exports-"))

SHARED_COLLECTIONS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "collections"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"


def missing_environment(reason: str) -> NoReturn:
    """Skip a test that needs a part of the machine this one lacks (``../shared``, Chromium), but fail it
    under ``CI=true`` (``.ci/run`` sets it): CI provides those parts, so a skip there would hide that the
    test never ran."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_collection(name: str) -> Path:
    """A real BEIR collection from ../shared, or skip the test with the reason (fail it under CI=true)."""
    path = SHARED_COLLECTIONS / name
    if not (path / "corpus.jsonl").is_file():
        missing_environment(f"needs the shared IR collection {path} (../shared is absent on this machine)")
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a throw-away data dir; CHROMA_HOST and OpenAI variables are cleared."""
    for name in (
        "CHROMA_HOST",
        "CHROMA_PORT",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "RERANKLENS_RERANKER",
        "RERANKLENS_RERANK_BACKEND",
        "RERANKLENS_RERANK_MAX_TOKENS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(tmp_path / "store"))
    return Settings.from_env()


@pytest.fixture
def workspace(settings: Settings) -> Workspace:
    return Workspace(settings)


@pytest.fixture(scope="session")
def test_cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real cross-encoder (ms-marco-MiniLM-L-6 architecture) built from the packaged
    all-MiniLM-L6-v2 weights with a fresh, seeded classification head: real cost, meaningless
    scores. Tests use it for mechanics only, never for ranking quality."""
    return save_untrained_cross_encoder(tmp_path_factory.mktemp("models") / "test-cross-encoder")
