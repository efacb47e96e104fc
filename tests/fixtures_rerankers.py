"""A second untrained cross-encoder, with another seed than ``test_cross_encoder_dir`` (conftest): two
real models of equal cost whose (meaningless) scores differ, for comparing rerankers side by side.
Test modules load it with ``pytest_plugins = ["fixtures_rerankers"]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from reranklens.rerank.untrained import save_untrained_cross_encoder

SECOND_SEED = 4321


@pytest.fixture(scope="session")
def second_cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_untrained_cross_encoder(tmp_path_factory.mktemp("models") / "second-cross-encoder", seed=SECOND_SEED)
