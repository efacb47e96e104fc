"""The models registry: names round-trip, registry names resolve to what make_reranker loads, the guard
refuses a losing model as the default, and the ``models`` CLI shows and removes entries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reranklens.cli.main import main
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.models.registry import ModelRegistry
from reranklens.workspace import Workspace


def fake_trained(registry: ModelRegistry, name: str, source_dir: Path, verdict: str) -> Path:
    """A 'trained' model: real cross-encoder weights copied in, plus a card with ``verdict``."""
    target = registry.model_dir(name)
    shutil.copytree(source_dir, target)
    card = {
        "name": name,
        "created": "2026-01-01T00:00:00+00:00",
        "base_model": "base",
        "verdict": verdict,
        "metrics": {"baseline": "vector-only", "baseline_nDCG@10": 0.5, "trained_nDCG@10": 0.4},
    }
    registry.write_trained(name, card, f"# {name}\n")
    return target


def test_registered_names_round_trip(tmp_path: Path, test_cross_encoder_dir: Path) -> None:
    registry = ModelRegistry(tmp_path)
    registry.add("local-ce", str(test_cross_encoder_dir))
    registry.add("marco", "cross-encoder/ms-marco-MiniLM-L-6-v2")

    again = ModelRegistry(tmp_path)  # a fresh object reads the same files
    assert again.names() == ["local-ce", "marco"]
    assert again.resolve("local-ce") == str(test_cross_encoder_dir.resolve())
    assert again.resolve("marco") == "cross-encoder/ms-marco-MiniLM-L-6-v2"
    # Unknown names, Hub names and paths pass through unchanged.
    assert again.resolve("cross-encoder/other") == "cross-encoder/other"
    assert again.resolve("unknown") == "unknown"

    again.remove("marco")
    assert again.names() == ["local-ce"]
    assert test_cross_encoder_dir.is_dir()  # forgetting a registered directory never deletes it


def test_trained_models_are_listed_with_their_card(tmp_path: Path, test_cross_encoder_dir: Path) -> None:
    registry = ModelRegistry(tmp_path)
    target = fake_trained(registry, "mine", test_cross_encoder_dir, "worse")
    entry = registry.get("mine")
    assert (entry.kind, entry.verdict, entry.source) == ("trained", "worse", str(target))
    assert entry.card["metrics"]["trained_nDCG@10"] == 0.4
    assert registry.resolve("mine") == str(target)
    registry.remove("mine")
    assert not target.exists()
    assert registry.names() == []


@pytest.mark.parametrize("name", ["", "has/slash", "-leading-dash", "with space", "x" * 65])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInputError, match="Invalid model name"):
        ModelRegistry(tmp_path).add(name, "cross-encoder/ms-marco-MiniLM-L-6-v2")


def test_a_local_source_must_be_a_saved_model(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "data")
    with pytest.raises(InvalidInputError, match="is not a directory"):
        registry.add("gone", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no config.json"):
        registry.add("empty", str(tmp_path / "empty"))
    with pytest.raises(InvalidInputError, match="No model named 'gone'"):
        registry.get("gone")


def test_guard_refuses_a_losing_model_as_default(tmp_path: Path, test_cross_encoder_dir: Path) -> None:
    registry = ModelRegistry(tmp_path)
    fake_trained(registry, "loser", test_cross_encoder_dir, "no better")
    fake_trained(registry, "winner", test_cross_encoder_dir, "better")
    with pytest.raises(InvalidInputError, match="did not beat its baseline"):
        registry.set_default("loser")
    assert registry.default() is None
    registry.set_default("winner")
    assert registry.default() == "winner"
    registry.set_default("loser", force=True)
    assert registry.default() == "loser"
    registry.remove("loser")
    assert registry.default() is None


def test_workspace_loads_a_registry_name(settings: Settings, test_cross_encoder_dir: Path) -> None:
    ModelRegistry(settings.data_dir).add("offline-ce", str(test_cross_encoder_dir))
    reranker = Workspace(settings).reranker("offline-ce")
    assert reranker.name == str(test_cross_encoder_dir.resolve())
    assert len(reranker.score("a query", ["a passage", "another passage"])) == 2


def test_models_cli_lists_shows_and_removes(
    settings: Settings, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_trained(ModelRegistry(settings.data_dir), "mine", test_cross_encoder_dir, "worse")
    assert main(["models", "add", "local", str(test_cross_encoder_dir)]) == 0
    capsys.readouterr()

    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["verdict"]) for m in listed["models"]] == [("mine", "worse"), ("local", "untested")]

    assert main(["models", "list"]) == 0
    assert "mine" in capsys.readouterr().out

    assert main(["models", "default", "mine"]) == 1
    assert "did not beat its baseline" in capsys.readouterr().err

    assert main(["models", "show", "mine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["card"]["verdict"] == "worse"

    assert main(["models", "remove", "mine"]) == 0
    assert main(["models", "show", "mine"]) == 1
    assert "No model named 'mine'" in capsys.readouterr().err


def test_the_local_hub_cache_is_read_as_snapshot_download_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cached_snapshot`` reads the cache layout itself (no ``huggingface_hub.hf_api`` import) and must find
    what ``snapshot_download(local_files_only=True)`` finds, and nothing it does not."""
    from huggingface_hub import constants, snapshot_download

    from reranklens.models.hub import cached_snapshot

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--org--cross-encoder"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}", encoding="utf-8")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    library = snapshot_download(repo_id="org/cross-encoder", local_files_only=True, cache_dir=tmp_path)
    assert cached_snapshot("org/cross-encoder") == library == str(repo / "snapshots" / commit)
    assert cached_snapshot("org/absent") is None
    (repo / "refs" / "main").write_text("f" * 40, encoding="utf-8")  # a ref to a snapshot that is not there
    assert cached_snapshot("org/cross-encoder") is None
