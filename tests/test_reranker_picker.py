"""The Reranker picker: models that can load here come first, and one that cannot
(a Hub name with no local copy on an offline machine) is marked "(not on this machine)"."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.shared.reranker_picker import UNAVAILABLE, _available, reranker_label, reranker_options
from reranklens.config import DEFAULT_RERANKER, Settings
from reranklens.models.hub import local_model_path
from reranklens.models.registry import ModelRegistry


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    if local_model_path(DEFAULT_RERANKER) is not None:
        pytest.skip(f"{DEFAULT_RERANKER} is in the local model cache here")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _available.clear()


def test_loadable_models_come_first_and_the_unavailable_one_is_marked(
    offline: None, tmp_path: Path, test_cross_encoder_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    registry = ModelRegistry(tmp_path)
    registry.add("local-ce", str(test_cross_encoder_dir))
    registry.add("hub-only", "someone/not-in-the-local-cache")

    options = reranker_options(settings)
    assert options == ["local-ce", DEFAULT_RERANKER, "hub-only"]
    label = reranker_label(settings)
    assert [label(name) for name in options] == ["local-ce", DEFAULT_RERANKER + UNAVAILABLE, "hub-only" + UNAVAILABLE]
    assert label("typed-by-hand") == "typed-by-hand"  # not an option: no claim either way


def test_a_local_directory_as_the_configured_reranker_is_available(
    offline: None, tmp_path: Path, test_cross_encoder_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path, reranker=str(test_cross_encoder_dir))
    assert reranker_options(settings) == [str(test_cross_encoder_dir)]
    assert reranker_label(settings)(str(test_cross_encoder_dir)) == str(test_cross_encoder_dir)
