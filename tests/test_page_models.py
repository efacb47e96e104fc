"""The Models page under AppTest: the registry table with verdicts, a losing model's warning, and a
training run started from the form (a few steps on a tiny golden set) that ends with a verdict."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.models.registry import TABLE_COLUMNS, TRAIN_JOB
from components.shared.jobs import server_jobs
from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.models.registry import ModelRegistry
from reranklens.train.job import loss_figure
from reranklens.workspace import Workspace

PAGE = Path(__file__).resolve().parents[1] / "pages" / "models.py"
DOCS = {
    "pw": "To reset your password open the account settings and choose reset password.",
    "backup": "Backups of every volume run each night at two in the morning.",
    "billing": "Invoices are issued on the first day of each month.",
    "ratelimit": "The public API allows one hundred requests per minute per key.",
    "delete": "Deleting an account removes all volumes and API keys permanently.",
}
QUERIES = {"q1": "reset my password", "q2": "when do backups run", "q3": "invoice dates", "q4": "API rate limit"}
RELEVANT = {"q1": "pw", "q2": "backup", "q3": "billing", "q4": "ratelimit"}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_cross_encoder_dir: Path) -> Iterator[Path]:
    for name in ("RERANKLENS_RERANKER", "RERANKLENS_EMBEDDER", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(name, raising=False)
    store = tmp_path / "store"
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(store))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    registry = ModelRegistry(store)
    shutil.copytree(test_cross_encoder_dir, registry.model_dir("loser"))
    card = {"name": "loser", "created": "2026-01-01T00:00:00+00:00", "verdict": "worse", "base_model": "b"}
    card["metrics"] = {"baseline": "vector-only", "baseline_nDCG@10": 0.5, "trained_nDCG@10": 0.3}
    registry.write_trained("loser", card, "# loser\n\nHeld-out evaluation: worse.\n")
    get_workspace.clear()
    yield store
    get_workspace.clear()


def test_table_marks_a_model_that_lost(data_dir: Path) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "loser" in table.index and "worse" in table.loc["loser", "Held-out verdict"]
    assert list(table.columns) == list(TABLE_COLUMNS.values())  # human names, not card keys
    assert "None" not in table.to_string() and not table.isna().any().any()
    assert table.loc["loser", "Trained nDCG@10"] == "0.3000"
    assert any("loser" in w.value and "did not beat the baseline" in w.value for w in at.warning)
    assert any("needs a collection and a golden set" in i.value for i in at.info)
    # The guard in the UI: the default button is disabled until the user says they know.
    assert next(b for b in at.button if b.label == "Make default in the pickers").disabled


def test_training_from_the_page_ends_with_a_verdict(data_dir: Path, test_cross_encoder_dir: Path) -> None:
    folder = data_dir.parent / "tiny"
    folder.mkdir()
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, text in DOCS.items():
            out.write(json.dumps({"_id": doc_id, "title": doc_id, "text": text}) + "\n")
    workspace = Workspace(Settings(data_dir=data_dir))
    workspace.ingest([folder], "tiny", options=ChunkingOptions(max_tokens=64, overlap_tokens=0))
    qrels = {qid: {doc: int(doc == rel) for doc in DOCS} for qid, rel in RELEVANT.items()}
    workspace.golden.replace_set("tiny", QUERIES, qrels)

    # The base is picked from the models the server offers (an admin registered this one).
    ModelRegistry(data_dir).add("base-ce", str(test_cross_encoder_dir))

    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    # the set has grade-0 labels: unjudged candidates are not needed as negatives, so not ticked by default
    assert not next(c for c in at.checkbox if c.label.startswith("Also use unjudged")).value
    form_inputs = {t.label.split(" (")[0]: t for t in at.text_input}
    form_inputs["Model name"].set_value("from-page")
    base = next(s for s in at.selectbox if s.label == "Base model")
    assert str(test_cross_encoder_dir) not in base.options  # no typed paths: registry and configured only
    base.set_value("base-ce")
    next(n for n in at.number_input if n.label == "Steps").set_value(2)
    next(s for s in at.select_slider if s.label == "Max tokens per pair").set_value(64)
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception

    job = server_jobs(Settings.from_env()).wait(at.session_state[TRAIN_JOB], timeout=300)
    assert job.state == "done", job.error
    at.run()
    assert not at.exception
    assert "from-page" in at.dataframe[0].value.index
    assert any("Verdict:" in m.value for m in [*at.success, *at.warning])
    status = [m.value for m in at.markdown if m.value.startswith("**Training from-page**")]
    assert status == [f"**Training from-page** finished: held-out verdict **{job.result.entry.verdict}**."]
    # the model card is formatted Markdown, with the set and collection names escaped, not a code block
    next(s for s in at.selectbox if s.label == "Model").set_value("from-page").run()
    card = next(m.value for m in at.markdown if m.value.startswith("# from-page"))
    assert "## Held-out evaluation" in card and "golden set tiny on collection tiny" in card
    assert ModelRegistry(data_dir).get("from-page").card["settings"]["max_length"] == 64


def test_loss_figure_plots_steps_against_loss() -> None:
    figure = loss_figure([(1, 0.7), (2, 0.5), (3, 0.4)])
    assert list(figure.data[0].x) == [1, 2, 3] and list(figure.data[0].y) == [0.7, 0.5, 0.4]
    assert figure.layout.xaxis.title.text == "step"


def test_training_with_the_page_defaults_works_on_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_cross_encoder_dir: Path
) -> None:
    # The demo set grades nothing 0: the page's defaults must tick unjudged negatives, or training fails.
    for name in ("RERANKLENS_RERANKER", "RERANKLENS_EMBEDDER", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    Workspace(Settings(data_dir=tmp_path / "store")).ingest_demo()
    get_workspace.clear()
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    assert next(c for c in at.checkbox if c.label.startswith("Also use unjudged")).value
    assert {t.label: t.value for t in at.text_input}["Model name"] == "demo-reranker"
    # only what keeps the test short changes: steps and pair length (the real default is measured in the report)
    next(n for n in at.number_input if n.label == "Steps").set_value(2)
    next(s for s in at.select_slider if s.label == "Max tokens per pair").set_value(64)
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    job = server_jobs(Settings.from_env()).wait(at.session_state[TRAIN_JOB], timeout=600)
    assert job.state == "done", job.error
    get_workspace.clear()
