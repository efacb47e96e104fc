"""Trace sets and attachments in the app (AppTest): import on the Corpus page, replay on Explore
(logged ranking before, reranked after, the logged answer), grade on Label, one-line errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components import keys
from components.resources import get_workspace
from reranklens.config import Settings
from reranklens.retrieve.traces import read_jsonl
from reranklens.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "traces" / "support_bot.jsonl"
TIMEOUT_S = 180


@pytest.fixture
def trace_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_cross_encoder_dir: Path) -> Iterator[Path]:
    """A fresh data dir (demo marked as done, no collections), the test cross-encoder as reranker."""
    for name in (*FOREIGN_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    (data_dir / ".demo-ingested").touch()
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RERANKLENS_RERANKER", str(test_cross_encoder_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield data_dir
    get_workspace.clear()


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT_S)


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return run_ok(at)


def imported(data_dir: Path) -> None:
    Workspace(Settings.from_env()).traces.import_traces("support-bot", read_jsonl(FIXTURE), str(FIXTURE))


def test_corpus_imports_a_trace_file_and_names_skipped_lines(trace_env: Path, tmp_path: Path) -> None:
    at = run_ok(page("corpus"))
    at.text_input(key="corpus.trace_path").input(str(FIXTURE))
    at.text_input(key="corpus.trace_name").input("support-bot")
    submit(at, "Import traces")
    assert any("Trace set 'support-bot': 2 traces, 8 candidates" in unescaped(s.value) for s in at.success)
    tables = [d.value for d in at.dataframe]
    assert any(list(t.columns)[:3] == ["trace set", "traces", "candidates"] and t.iloc[0, 1] == 2 for t in tables)

    broken = tmp_path / "broken.jsonl"
    broken.write_text(FIXTURE.read_text().splitlines()[0] + "\n{oops\n")
    at.text_input(key="corpus.trace_path").input(str(broken))
    at.text_input(key="corpus.trace_name").input("broken")
    submit(at, "Import traces")
    (warning,) = [unescaped(w.value) for w in at.warning]
    assert f"Skipped 1 line(s): {broken}:2: not JSON" in warning

    at.text_input(key="corpus.trace_name").input("broken")
    submit(at, "Import traces")
    (error,) = [unescaped(e.value) for e in at.error]
    assert "A trace set named 'broken' exists" in error
    assert at.text_input(key="corpus.trace_path").value == str(broken)  # what the person typed is kept


def test_corpus_attach_refusal_is_one_line_and_keeps_the_form(trace_env: Path, tmp_path: Path) -> None:
    at = run_ok(page("corpus"))
    at.text_input(key="corpus.attach_source").input(str(tmp_path))
    at.text_input(key="corpus.attach_collection").input("theirs")
    submit(at, "Attach read-only")
    (error,) = [unescaped(e.value) for e in at.error]
    assert "is not a Chroma persistent directory (no chroma.sqlite3 in it)" in error
    assert at.text_input(key="corpus.attach_collection").value == "theirs"


@pytest.mark.slow
def test_explore_replays_a_trace_before_and_after_with_the_answer(
    trace_env: Path, test_cross_encoder_dir: Path
) -> None:
    imported(trace_env)
    at = page("explore")
    at.query_params["trace"] = "support-bot:chat-0417"
    run_ok(at)
    assert at.selectbox(key=keys.TRACE_SET).value == "support-bot"
    headers = [s.value for s in at.subheader]
    assert "Logged retrieval (your application)" in headers and f"Reranked ({test_cross_encoder_dir.name})" in headers
    assert [t.value for t in at.text] == [
        "On the sign-in page click Forgot password?, open the email and click the reset link. "
        "The link is valid for 24 hours."
    ]
    rests = [unescaped(c.value) for c in at.caption if "rests on the logged top-3" in c.value]
    assert len(rests) == 1 and "kb-v1.0-password-reset-2 → #" in rests[0]
    assert any("no text: cannot be reranked" in unescaped(w.value) for w in at.warning)

    at.selectbox(key=keys.TRACE_SET).set_value("")
    run_ok(at)  # back to searching collections: none here, so the page says how to make one
    assert any("No collections yet" in i.value for i in at.info)


@pytest.mark.slow
def test_label_grades_a_trace_candidate_on_its_logged_id_and_text(trace_env: Path) -> None:
    imported(trace_env)
    at = page("label")
    at.query_params["trace"] = "support-bot:chat-0417"
    at.query_params["set"] = "triage"
    run_ok(at)
    at.radio(key=keys.LABEL_SCOPE).set_value("all candidates")
    run_ok(at)
    controls = at.get("segmented_control")
    assert len(controls) == 6
    controls[0].set_value(3)
    run_ok(at)
    workspace = Workspace(Settings.from_env())
    (judgement,) = workspace.golden.judgements("triage")
    assert (
        judgement.grade == 3
        and judgement.level == "chunk"
        and re.fullmatch(r"kb-[\w.-]+#[0-9a-f]{12}", judgement.target_id)
    )
    assert workspace.traces.existing_ids("support-bot", [judgement.target_id]) == {judgement.target_id}
