"""Trace sets and attachments in the app (AppTest): import on the Corpus page, replay on Explore
(logged ranking before, reranked after, the logged answer), grade on Label, one-line errors."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_env import FOREIGN_ENV
from streamlit.testing.v1 import AppTest

from components.evaluate.results import TABLE_METRICS
from components.evaluate.targets import TRACE_NOTE, EvalTarget
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.access.audit import AuditLog
from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.evaluate.runs import RunStore
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
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", os.pathsep.join([str(FIXTURE.parent), str(tmp_path)]))
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
    (entry,) = AuditLog(trace_env).entries()
    assert (entry.who, entry.action, entry.target, entry.detail) == (
        "local",
        "import traces",
        "support-bot",
        "jsonl, 2 traces",  # never the server path: every visitor sees the audit table
    )

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


@pytest.mark.slow
def test_evaluate_scores_a_trace_set_with_the_numbers_of_the_cli(
    trace_env: Path, test_cross_encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Evaluate offers the trace set next to collections, only the logged pipelines, and shows what
    ``reranklens eval --traces support-bot --golden triage --json`` prints for the same inputs."""
    imported(trace_env)
    Workspace(Settings.from_env()).golden.replace_set(
        "triage",
        {"q01": "How do I reset my password in v2.4?", "q02": "What is the API rate limit in Acme Cloud 2.0?"},
        {"q01": {"v2.4/password-reset.md": 2}, "q02": {"v2.0/rate-limits.md": 1}},
    )
    at = run_ok(page("evaluate"))
    target = next(s for s in at.selectbox if s.label == "Collection or trace set")
    assert target.options == ["trace set: support-bot"] and target.value == EvalTarget("support-bot", traces=True)
    picker = at.multiselect[0]
    assert picker.value == ["logged", "logged+rerank"]
    assert picker.options == ["logged", "logged+rerank", f"logged+rerank:{test_cross_encoder_dir}"]
    assert TRACE_NOTE in [c.value for c in at.sidebar.caption]
    assert not [s for s in at.slider if s.label == "Candidates (N)"]
    next(b for b in at.sidebar.button if b.label == "Run evaluation").click()
    run_ok(at)

    assert cli.main(["eval", "--traces", "support-bot", "--golden", "triage", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    (saved,) = RunStore(Settings.from_env().runs_db_path).list()
    assert saved.result["traces"] is True
    assert saved.result["pipelines"] == expected["pipelines"] and saved.result["per_query"] == expected["per_query"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["logged", "logged+rerank"]
    logged = expected["pipelines"]["logged"]
    for name, means in expected["pipelines"].items():
        for metric in TABLE_METRICS:
            delta = f" ({means[metric] - logged[metric]:+.3f})" if name != "logged" else ""
            assert table.loc[metric, name] == f"{means[metric]:.3f}{delta}", (name, metric)
    assert table.loc["nDCG@10", "logged"] == f"{logged['nDCG@10']:.3f}"
    (versus,) = expected["comparisons"]
    comparison = next(m.value for m in at.markdown if "paired randomization" in m.value)
    assert "**logged+rerank** vs **logged** on nDCG@10" in comparison
    assert f"mean Δ **{versus['mean_delta']:+.4f}**" in comparison
    assert f"{versus['wins']} wins / {versus['losses']} losses / {versus['ties']} ties" in comparison
    per_query = next(d.value for d in at.dataframe if "explore" in d.value.columns)
    assert set(per_query["explore"]) == {
        "/explore?trace=support-bot%3Achat-0417",
        "/explore?trace=support-bot%3Achat-0418",
    }
    stages = next(d.value for d in at.dataframe if "stage" in d.value.columns)
    assert set(stages["pipeline"]) == {"logged", "logged+rerank"} and "Rerank (cross-encoder)" in set(stages["stage"])
    assert any("candidates as logged" in c.value for c in at.caption)

    again = run_ok(page("evaluate"))  # a new session, as after a reload: the saved trace-set run comes back
    assert any(f"last saved run (#{saved.run_id})" in c.value for c in again.caption)
    assert list(again.dataframe[0].value.columns) == ["logged", "logged+rerank"]


def test_a_viewer_cannot_attach_import_or_pull_traces(trace_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a shared server these make the server read a path or fetch a URL someone typed: admins only.
    AppTest cannot sign in through an OIDC provider, so the signed-in identity is set here; the role
    check is the app's own (RERANKLENS_ADMINS is empty, so eve is a viewer)."""
    monkeypatch.delenv("RERANKLENS_ADMINS", raising=False)
    monkeypatch.setattr("components.shared.identity.signin_configured", lambda: True)
    monkeypatch.setattr("components.shared.frame.sign_in_gate", lambda _settings: None)  # eve has signed in
    monkeypatch.setattr("components.shared.identity.current_user", lambda: "eve@team.org")
    at = run_ok(page("corpus"))

    def refused(action: str) -> None:
        (error,) = [unescaped(e.value).replace("\u200b", "") for e in at.error]  # escaping breaks autolinks
        assert error.startswith(f"{action} needs the admin role; eve@team.org is a viewer."), error

    at.text_input(key="corpus.trace_path").input(str(FIXTURE))
    at.text_input(key="corpus.trace_name").input("support-bot")
    submit(at, "Import traces")
    refused("Importing traces")
    at.text_input(key="corpus.attach_source").input(str(trace_env))
    at.text_input(key="corpus.attach_collection").input("theirs")
    submit(at, "Attach read-only")
    refused("Attaching a collection")
    at.text_input(key="corpus.phoenix_url").input("http://127.0.0.1:6006")
    at.text_input(key="corpus.phoenix_project").input("default")
    at.text_input(key="corpus.phoenix_name").input("from-phoenix")
    submit(at, "Pull from Phoenix")
    refused("Pulling traces from Phoenix")
    workspace = Workspace(Settings.from_env())
    assert workspace.traces.names() == [] and workspace.attachments.all() == {}
