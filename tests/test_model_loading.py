"""Which models a visitor can make the server load, and how loaded models are kept.

Pages offer only the configured and registry models (no free-text pickers); the reranker cache is keyed
by what is loaded (a resolved directory), bounded, and a load holds only its own model's lock.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

import reranklens.rerank.loaded as loaded_module
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.models.registry import ModelRegistry
from reranklens.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"


def linked_copy(model: Path, target: Path) -> Path:
    """Another directory holding the same model files (symlinked): a different model to the cache."""
    target.mkdir()
    for item in model.iterdir():
        (target / item.name).symlink_to(item)
    return target


def test_one_cache_entry_per_resolved_directory(tmp_path: Path, test_cross_encoder_dir: Path) -> None:
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    first = workspace.reranker(str(test_cross_encoder_dir))
    dotted = f"{test_cross_encoder_dir.parent}/./{test_cross_encoder_dir.name}/"
    assert workspace.reranker(dotted) is first
    assert workspace.reranker(f"{test_cross_encoder_dir}/../{test_cross_encoder_dir.name}") is first
    assert len(workspace.rerankers.keys) == 1


def test_the_cache_is_bounded_least_recently_used_out(tmp_path: Path, test_cross_encoder_dir: Path) -> None:
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    workspace.rerankers.capacity = 2
    a = str(test_cross_encoder_dir)
    b, c = (str(linked_copy(test_cross_encoder_dir, tmp_path / name)) for name in ("b", "c"))
    model_a = workspace.reranker(a)
    workspace.reranker(b)
    assert workspace.reranker(a) is model_a  # used again: now the most recent
    workspace.reranker(c)  # drops b, the least recently used
    assert sorted(workspace.rerankers.keys) == sorted([a, c])


def test_a_load_blocks_only_its_own_model(
    tmp_path: Path, test_cross_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one visitor's model loads (a slow download), searches and other loaded models go on."""
    workspace = Workspace(Settings(data_dir=tmp_path / "data"))
    workspace.ingest([DOCS], "docs")
    loaded = workspace.reranker(str(test_cross_encoder_dir))
    slow = str(linked_copy(test_cross_encoder_dir, tmp_path / "slow"))
    started, release = threading.Event(), threading.Event()
    real_make = loaded_module.make_reranker

    def make_reranker(source: str, settings: Settings):  # noqa: ANN202 - the engine's own loader, held up
        if source == slow:
            started.set()
            release.wait(timeout=120)
        return real_make(source, settings)

    monkeypatch.setattr(loaded_module, "make_reranker", make_reranker)
    loader = threading.Thread(target=workspace.reranker, args=(slow,))
    loader.start()
    try:
        assert started.wait(timeout=120)
        # Both would wait for the slow load if it held the workspace-wide lock.
        assert workspace.reranker(str(test_cross_encoder_dir)) is loaded
        assert workspace.search("reset password", "docs", "vector", 5).hits
        assert loader.is_alive()  # the slow load was still running all along
    finally:
        release.set()
        loader.join(timeout=120)
    assert slow in workspace.rerankers.keys


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_cross_encoder_dir: Path) -> Iterator[Path]:
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    workspace = Workspace(Settings(data_dir=data))
    workspace.ingest([DOCS], "docs")
    workspace.golden.replace_set("docs", {"q1": "reset password"}, {"q1": {"guide.md": 1}})
    (data / ".demo-ingested").touch()
    ModelRegistry(data).add("team-ce", str(test_cross_encoder_dir))
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data))
    monkeypatch.setenv("RERANKLENS_RERANKER", str(test_cross_encoder_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield data
    get_workspace.clear()


@pytest.mark.parametrize(("page", "label"), [("explore", "Reranker"), ("evaluate", "Reranker"), ("corpus", "Embedder")])
def test_pages_offer_only_configured_and_registry_models(app_env: Path, page: str, label: str) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    [picker] = [s for s in at.selectbox if s.label == label]
    assert not picker.proto.accept_new_options  # a visitor cannot type a path or a Hub id
    if label == "Reranker":
        assert "team-ce" in picker.options


def test_a_url_cannot_pick_an_unoffered_reranker(app_env: Path, tmp_path: Path) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.switch_page("pages/explore.py")
    at.query_params["reranker"] = str(tmp_path / "elsewhere")
    at.session_state[keys.RERANKER] = "/etc"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key=keys.RERANKER).value in at.selectbox(key=keys.RERANKER).options
    assert "/etc" not in at.selectbox(key=keys.RERANKER).options


def test_requirements_pin_sentence_transformers_6() -> None:
    """Older sentence-transformers run custom code shipped in a local model folder (pyproject.toml is the one
    list of dependencies)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    [pin] = [Requirement(line) for line in declared if Requirement(line).name == "sentence-transformers"]
    assert not pin.specifier.contains("5.9") and pin.specifier.contains("6.0")
