"""``reranklens eval`` end to end through ``cli.main``: output shapes, gates and their exit codes,
saved runs and regressions, and errors as one line before any work.

Each test gets its own data dir (``settings`` fixture) holding a ten-document BEIR collection
``tiny`` whose golden set ``tiny`` has three queries with one relevant document each. With one
relevant document per query P@3 can never exceed 1/3, and with N=50 vector search ranks all ten
documents, so R@10 is 1: gates on those two pass or fail whatever the embedder ranks first.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from beir_folder import write_beir

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import FIRST_STAGE_RECALL, MEASURES, UNJUDGED, EvalConfig, EvalResult, ranking_to_run
from reranklens.evaluate.report import html_evaluation, report_data
from reranklens.evaluate.runs import RunStore
from reranklens.workspace import Workspace

DOCS = {
    "pw": ("Password reset", "Open the account settings page and choose reset password; a link arrives by email."),
    "backup": ("Nightly backups", "Backups of every volume run each night at two in the morning."),
    "billing": ("Invoices", "Invoices are issued on the first day of each month and paid by card or transfer."),
    "ratelimit": ("Rate limits", "The API allows one hundred requests per minute per key."),
    "twofactor": ("Two-factor login", "Scan the QR code with an authenticator app and enter the six digit code."),
    "delete": ("Deleting an account", "Deleting an account removes all volumes and keys permanently."),
    "region": ("Regions", "Servers run in Frankfurt, Virginia and Singapore."),
    "support": ("Support hours", "Support answers tickets from eight to six on weekdays."),
    "dns": ("Custom domains", "Point a CNAME record at your app to use a custom domain."),
    "logs": ("Log retention", "Application logs are kept for fourteen days and can be exported."),
}
QUERIES = {
    "q1": "how do I reset my password",
    "q2": "when do the nightly backups run",
    "q3": "how many API requests per minute are allowed",
}
QRELS = {"q1": {"pw": 1}, "q2": {"backup": 1}, "q3": {"ratelimit": 1, "billing": 0}}
TABLE_HEADER = ["pipeline", *MEASURES, UNJUDGED, FIRST_STAGE_RECALL]
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*argv) -> (exit code, stdout, stderr)`` of ``reranklens eval ...`` in the test's data dir
    (``RERANKLENS_DATA_DIR``, set by the ``settings`` fixture)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The first eval in a new data dir ingests the bundled demo: not wanted here.
    (settings.data_dir / ".demo-ingested").touch()

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["eval", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def tiny(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Collection ``tiny`` and golden set ``tiny`` (imported from the BEIR qrels by ingest)."""
    folder = write_beir(tmp_path / "tiny", DOCS, QUERIES, QRELS)
    report = workspace.ingest([folder], "tiny")
    assert (report.documents, report.golden_queries) == (10, 3)
    return workspace


def assert_one_error_line(code: int, out: str, err: str, message: str) -> None:
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines() == [f"error: {message}"], err


def table(out: str) -> dict[str, list[str]]:
    """The metric table's rows by pipeline name (first cell), header included."""
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells[1:]
    return rows


def as_json(out: str) -> dict[str, Any]:
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


# -- output ------------------------------------------------------------------------------------------


def test_json_shape(tiny: Workspace, run: Run) -> None:
    code, out, err = run("--collection", "tiny", "--golden", "tiny", "--pipelines", "vector,bm25", "--json")
    assert code == 0, err
    data = as_json(out)
    assert list(data) == [
        "collection",
        "golden_set",
        "traces",
        "live",
        "level",
        "candidates",
        "reranker",
        "pipelines",
        "per_query",
        "latency_ms",
        "rerankers",
        "cost",
        "queries",
        "skipped",
        "wall_s",
        "comparisons",
        "gates",
    ]
    assert (data["collection"], data["golden_set"], data["level"], data["candidates"]) == ("tiny", "tiny", "doc", 50)
    assert data["traces"] is False  # a collection searched again, not a trace set's logged rankings
    assert data["live"] is False  # nor a connected retriever asked again
    assert data["reranker"] is None and data["skipped"] == [] and data["queries"] == QUERIES
    assert data["rerankers"] == {} and data["cost"] == {}  # no reranked pipeline, no paid reranker
    assert list(data["pipelines"]) == ["vector", "bm25"]
    for name in ("vector", "bm25"):
        assert set(data["pipelines"][name]) == {*MEASURES, UNJUDGED, FIRST_STAGE_RECALL}
        assert {"nDCG@10", "R@3", "RR@10", "P@3"} <= set(data["pipelines"][name])
        assert set(data["per_query"][name]) == set(QUERIES)
        assert data["pipelines"][name]["P@3"] <= 1 / 3 + 1e-12
        assert set(data["latency_ms"][name]["total"]) == {"p50", "p95"}
    assert data["pipelines"]["vector"]["R@10"] == 1.0
    assert data["comparisons"] == [] and data["gates"] == []
    assert "run_id" not in data
    assert err == ""


def test_human_output_with_every_pipeline(tiny: Workspace, run: Run, test_cross_encoder_dir: Path) -> None:
    code, out, err = run("-c", "tiny", "-g", "tiny", "--reranker", str(test_cross_encoder_dir))
    assert code == 0, err
    rows = table(out)
    assert ["pipeline", *rows["pipeline"]] == TABLE_HEADER
    assert list(rows)[1:] == ["vector", "vector+rerank", "bm25", "hybrid", "hybrid+rerank"]
    assert all(len(cells) == len(TABLE_HEADER) - 1 for cells in rows.values())
    comparison = (
        r"^{c} vs {b} on nDCG@10: mean Δ [+-]\d\.\d{{3}} \(95% CI \[[+-]\d\.\d{{3}}, [+-]\d\.\d{{3}}\], "
        r"p[=<]\d\.\d{{3}}\), (\d) wins / (\d) losses / (\d) ties$"
    )
    for candidate, baseline in (("vector\\+rerank", "vector"), ("hybrid\\+rerank", "hybrid")):
        match = re.search(comparison.format(c=candidate, b=baseline), out, re.MULTILINE)
        assert match, out
        assert sum(int(n) for n in match.groups()) == 3
    for name in ("vector", "vector+rerank", "bm25", "hybrid", "hybrid+rerank"):
        assert re.search(rf"^latency {re.escape(name)} +p50 +\d+\.\d ms  p95 +\d+\.\d ms$", out, re.MULTILINE), name
    assert re.search(
        rf"^doc level, 3 queries, 50 candidates, reranker {re.escape(str(test_cross_encoder_dir))}; "
        r"wall time \d+\.\d s$",
        out,
        re.MULTILINE,
    )
    assert "untrained classification head" in err and err.startswith("warning: ")


def test_json_comparisons_with_a_reranker(tiny: Workspace, run: Run, test_cross_encoder_dir: Path) -> None:
    code, out, _ = run(
        "-c",
        "tiny",
        "-g",
        "tiny",
        "--pipelines",
        "vector,vector+rerank",
        "--reranker",
        str(test_cross_encoder_dir),
        "--json",
    )
    assert code == 0
    data = as_json(out)
    assert data["reranker"] == str(test_cross_encoder_dir)
    [comparison] = data["comparisons"]
    assert (comparison["baseline"], comparison["candidate"], comparison["metric"]) == (
        "vector",
        "vector+rerank",
        "nDCG@10",
    )
    assert comparison["wins"] + comparison["losses"] + comparison["ties"] == 3
    deltas = comparison["deltas"]
    assert sorted(d["query_id"] for d in deltas) == sorted(QUERIES)
    assert [abs(d["delta"]) for d in deltas] == sorted((abs(d["delta"]) for d in deltas), reverse=True)
    for d in deltas:
        assert d["baseline"] == data["per_query"]["vector"][d["query_id"]]["nDCG@10"]
        assert d["candidate"] == data["per_query"]["vector+rerank"][d["query_id"]]["nDCG@10"]
    assert comparison["mean_delta"] == pytest.approx(
        data["pipelines"]["vector+rerank"]["nDCG@10"] - data["pipelines"]["vector"]["nDCG@10"]
    )
    assert comparison["ci_low"] <= comparison["mean_delta"] + 1e-12
    assert comparison["mean_delta"] <= comparison["ci_high"] + 1e-12
    assert 0.0 < comparison["p_value"] <= 1.0


def test_rerank_pipelines_are_skipped_with_a_note_when_no_cross_encoder_loads(
    tiny: Workspace, run: Run, tmp_path: Path
) -> None:
    code, out, err = run("-c", "tiny", "-g", "tiny", "--reranker", str(tmp_path / "no-model"))
    assert code == 0
    assert list(table(out))[1:] == ["vector", "bm25", "hybrid"]
    assert " vs " not in out
    [note] = err.splitlines()
    assert note.startswith("note: pipelines vector+rerank, hybrid+rerank: no cross-encoder could be loaded (")
    assert "does not exist" in note


def test_only_rerank_pipelines_without_a_cross_encoder_is_an_error(tiny: Workspace, run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector+rerank", "--reranker", str(missing))
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: The cross-encoder directory '{missing}' does not exist.")


def test_skipped_queries_are_notes(tiny: Workspace, run: Run) -> None:
    tiny.golden.replace_set("partial", QUERIES, {"q1": {"pw": 1}, "q2": {"backup": 0}})
    code, out, err = run("-c", "tiny", "-g", "partial", "--pipelines", "bm25")
    assert code == 0
    assert "doc level, 1 query," in out
    assert err.splitlines() == [
        "note: query q2: no relevant doc-level label",
        "note: query q3: no relevant doc-level label",
    ]


def test_progress_bar_on_request(tiny: Workspace, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_PROGRESS", "1")  # capsys' stderr is no terminal
    code, _, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "bm25")
    assert code == 0
    assert "evaluating" in err and "3/3" in err


# -- --fail-under ------------------------------------------------------------------------------------


def test_gates_that_pass(tiny: Workspace, run: Run) -> None:
    code, out, err = run(
        "-c",
        "tiny",
        "-g",
        "tiny",
        "--pipelines",
        "vector,bm25",
        "--fail-under",
        "vector:R@10=1.0",
        "--fail-under",
        "P@3=0",
    )
    assert code == 0, out + err
    assert "FAIL" not in out + err


def test_a_gate_that_fails(tiny: Workspace, run: Run) -> None:
    code, out, _ = run(
        "-c",
        "tiny",
        "-g",
        "tiny",
        "--pipelines",
        "vector,bm25",
        "--fail-under",
        "vector:P@3=0.5",
        "--fail-under",
        "R@10=0",
    )
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert fails == ["FAIL: vector P@3 0.3333 < 0.5000"]
    assert list(table(out))[1:] == ["vector", "bm25"]  # the evaluation is still shown


def test_a_global_gate_checks_every_pipeline_and_json_keeps_stdout_clean(tiny: Workspace, run: Run) -> None:
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector,bm25", "--json", "--fail-under", "p@3=0.5")
    assert code == 1
    data = as_json(out)
    assert data["gates"] == [
        {"gate": "vector P@3 >= 0.5", "passed": False, "detail": "vector P@3 0.3333 < 0.5000"},
        {"gate": "bm25 P@3 >= 0.5", "passed": False, "detail": "bm25 P@3 0.3333 < 0.5000"},
    ]
    assert err.splitlines() == ["FAIL: vector P@3 0.3333 < 0.5000", "FAIL: bm25 P@3 0.3333 < 0.5000"]


def test_a_gate_on_a_skipped_pipeline_fails(tiny: Workspace, run: Run, tmp_path: Path) -> None:
    code, out, _ = run(
        "-c",
        "tiny",
        "-g",
        "tiny",
        "--pipelines",
        "vector,vector+rerank",
        "--reranker",
        str(tmp_path / "no-model"),
        "--fail-under",
        "vector+rerank:nDCG@10=0",
    )
    assert code == 1
    assert "FAIL: vector+rerank nDCG@10 not evaluated (pipeline skipped), needs >= 0.0000" in out.splitlines()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nDCG@10", "Malformed --fail-under 'nDCG@10': write METRIC=VALUE or PIPELINE:METRIC=VALUE, "),
        ("=0.3", "Malformed --fail-under '=0.3'"),
        (":nDCG@10=0.3", "Malformed --fail-under ':nDCG@10=0.3'"),
        ("nDCG@10=", "Malformed --fail-under 'nDCG@10='"),
        ("MAP=0.3", "Unknown metric 'MAP' in --fail-under 'MAP=0.3': choose from R@1, R@3, R@5, R@10, P@3, RR@10, "),
        ("Unjudged@10=0.1", "Unknown metric 'Unjudged@10'"),
        ("nDCG@10=abc", "--fail-under 'nDCG@10=abc': the threshold must be a number from 0 to 1, got 'abc'."),
        ("nDCG@10=1.5", "--fail-under 'nDCG@10=1.5': the threshold must be a number from 0 to 1, got '1.5'."),
        ("nDCG@10=nan", "--fail-under 'nDCG@10=nan': the threshold must be a number from 0 to 1"),
        (
            "colbert:nDCG@10=0.3",
            "Unknown pipeline 'colbert' in --fail-under 'colbert:nDCG@10=0.3': choose from vector, ",
        ),
        (
            "hybrid:nDCG@10=0.3",
            "--fail-under 'hybrid:nDCG@10=0.3' names pipeline 'hybrid', which is not being evaluated: "
            "add it to --pipelines (now vector,bm25).",
        ),
    ],
)
def test_a_bad_fail_under_is_one_error_line_before_any_work(run: Run, spec: str, message: str) -> None:
    # 'missing' is no collection: the error is about the gate, so it came before the evaluation
    code, out, err = run("-c", "missing", "-g", "tiny", "--pipelines", "vector,bm25", "--fail-under", spec)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: {message}"), err


def test_missing_collection_or_golden_set(run: Run) -> None:
    code, out, err = run("--golden", "tiny")
    assert_one_error_line(
        code, out, err, "eval needs --collection and --golden (e.g. reranklens eval --collection demo --golden demo)."
    )


def test_unknown_pipeline(run: Run) -> None:
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector,colbert")
    assert_one_error_line(
        code,
        out,
        err,
        "Unknown pipeline(s) colbert: choose from vector, vector+rerank, bm25, hybrid, hybrid+rerank, "
        "or vector+rerank:NAME / hybrid+rerank:NAME for any reranker NAME.",
    )


# -- saved runs and regressions ----------------------------------------------------------------------


def save(run: Run, *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector", "--json", *argv)
    assert code == 0, err
    data = as_json(out)
    return int(data["run_id"]), data


def test_save_prints_the_id_and_stores_the_result(tiny: Workspace, run: Run, settings: Settings) -> None:
    code, out, _ = run("-c", "tiny", "-g", "tiny", "--pipelines", "bm25", "--save", "first try")
    assert code == 0
    assert "Saved run #1 'first try': compare later runs with --fail-on-regression 1" in out.splitlines()
    run_id, data = save(run, "--save")
    assert run_id == 2
    saved = RunStore(settings.runs_db_path).get(run_id)
    assert (saved.label, saved.collection, saved.golden_set) == ("", "tiny", "tiny")
    assert saved.result == {k: v for k, v in data.items() if k not in ("comparisons", "gates", "run_id")}


def test_a_run_does_not_regress_against_itself(tiny: Workspace, run: Run) -> None:
    run_id, _ = save(run, "--save", "baseline")
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector,bm25", "--fail-on-regression", str(run_id))
    assert code == 0, out + err
    assert "REGRESSION" not in out + err
    code, out, _ = run(
        "-c", "tiny", "-g", "tiny", "--pipelines", "vector", "--json", "--fail-on-regression", str(run_id)
    )
    [gate] = as_json(out)["gates"]
    assert gate["gate"] == f"vector nDCG@10 not below run #{run_id}" and gate["passed"] is True
    assert gate["queries"] == []


def test_a_regression_fails_and_lists_the_queries_that_got_worse(tiny: Workspace, run: Run) -> None:
    run_id, before = save(run, "--save")
    # Same queries, new labels: q1's relevant document becomes the one vector search ranks last,
    # q2's the one it ranks second, so both score lower with an unchanged ranking.
    ranked = {
        qid: list(ranking_to_run(tiny.search(QUERIES[qid], "tiny", "vector", 50).hits, "doc")) for qid in ("q1", "q2")
    }
    assert len(ranked["q1"]) == 10
    tiny.golden.replace_set(
        "tiny", QUERIES, {"q1": {ranked["q1"][-1]: 1}, "q2": {ranked["q2"][1]: 1}, "q3": QRELS["q3"]}
    )
    old = {qid: before["per_query"]["vector"][qid]["nDCG@10"] for qid in QUERIES}
    new = {"q1": 1 / math.log2(11), "q2": 1 / math.log2(3), "q3": old["q3"]}
    assert old["q1"] > new["q1"] and old["q2"] > new["q2"], "the fixture puts each relevant document near the top"

    code, out, _ = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector", "--fail-on-regression", str(run_id))

    assert code == 1
    lines = out.splitlines()
    start = lines.index(f"REGRESSION: vector nDCG@10 {sum(old.values()) / 3:.4f} -> {sum(new.values()) / 3:.4f}")
    worst_first = sorted(("q1", "q2"), key=lambda q: new[q] - old[q])
    assert lines[start + 1 :] == [f"  {q}: {old[q]:.4f} -> {new[q]:.4f}  {QUERIES[q]}" for q in worst_first]


def test_a_baseline_of_another_golden_set_is_refused(tiny: Workspace, run: Run) -> None:
    tiny.golden.replace_set("copy", QUERIES, QRELS)
    code, out, err = run("-c", "tiny", "-g", "copy", "--pipelines", "bm25", "--json", "--save")
    other = as_json(out)["run_id"]
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "bm25", "--fail-on-regression", str(other))
    assert_one_error_line(
        code,
        out,
        err,
        f"Run #{other} evaluated collection 'tiny' on golden set 'copy', not 'tiny' on 'tiny': "
        "pick a run of the same pair (reranklens eval --list-runs).",
    )


def test_a_baseline_without_a_common_pipeline_is_refused(tiny: Workspace, run: Run) -> None:
    run_id, _ = save(run, "--save")
    code, out, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "bm25", "--fail-on-regression", str(run_id))
    assert_one_error_line(
        code,
        out,
        err,
        f"Run #{run_id} has pipelines vector, none of which is being evaluated: add one to --pipelines (now bm25).",
    )


def test_a_baseline_scored_at_another_level_is_refused(tiny: Workspace, run: Run) -> None:
    run_id, _ = save(run, "--save")
    code, out, err = run("-c", "tiny", "-g", "tiny", "--level", "chunk", "--fail-on-regression", str(run_id))
    assert_one_error_line(code, out, err, f"Run #{run_id} was scored at doc level, not chunk: pass --level doc.")


def test_unknown_baseline_run(run: Run) -> None:
    code, out, err = run("-c", "tiny", "-g", "tiny", "--fail-on-regression", "99")
    assert_one_error_line(code, out, err, "No saved evaluation run #99: list them with `reranklens eval --list-runs`.")


def test_list_runs(tiny: Workspace, run: Run) -> None:
    code, out, _ = run("--list-runs")
    assert (code, out) == (0, "No saved runs yet: reranklens eval --collection C --golden G --save [LABEL]\n")
    first, data = save(run, "--save", "baseline")
    tiny.golden.replace_set("copy", QUERIES, QRELS)
    code, out, _ = run("-c", "tiny", "-g", "copy", "--pipelines", "bm25", "--save")
    assert code == 0

    code, out, _ = run("--list-runs")
    assert code == 0
    newest, oldest = out.splitlines()
    assert re.fullmatch(r"#2 +\S+  -  +tiny / copy  nDCG@10: bm25 \d\.\d{4}", newest), newest
    ndcg = data["pipelines"]["vector"]["nDCG@10"]
    assert re.fullmatch(rf"#1 +\S+  baseline +tiny / tiny  nDCG@10: vector {ndcg:.4f}", oldest), oldest

    code, out, _ = run("--list-runs", "--golden", "tiny", "--json")
    [row] = json.loads(out)
    assert row["run_id"] == first and row["label"] == "baseline" and row["level"] == "doc"
    assert (row["collection"], row["golden_set"]) == ("tiny", "tiny")
    assert row["nDCG@10"] == {"vector": ndcg}


# -- --report: one self-contained file for the people who decide ------------------------------------

REPORT_HOSTILE = "<img src=x onerror=alert(1)> https://example.com/track.png"


def test_html_report_opens_offline_with_zero_requests(tiny: Workspace, run: Run, tmp_path: Path) -> None:
    tiny.golden.add_query("tiny", REPORT_HOSTILE)
    tiny.golden.judge("tiny", tiny.golden.find_query("tiny", REPORT_HOSTILE).query_id, "doc", "logs", 2)
    path = tmp_path / "report.html"
    code, _, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector,bm25,hybrid", "--report", str(path))
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    for needle in ("Collection", "Golden set", "Machine", "nDCG@10", "Paired tests", "<svg", "@media print"):
        assert needle in text
    assert "<img" not in text and "&lt;img src=x" in text
    assert "<script" not in text.lower()

    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_content(text, wait_until="load")
        assert page.locator("h1").inner_text() == "RerankLens evaluation"
        assert page.locator("svg circle").count() == 3
        assert REPORT_HOSTILE in page.locator("body").inner_text() or "onerror" in page.locator("body").inner_text()
        browser.close()
    assert requests == [] and errors == []


def test_markdown_report_and_a_wrong_extension(tiny: Workspace, run: Run, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    code, _, err = run("-c", "tiny", "-g", "tiny", "--pipelines", "vector,bm25", "--report", str(path))
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    assert text.startswith("## RerankLens evaluation")
    assert "| pipeline | nDCG@10 | R@3 | RR@10 | Hit@3 | p50 ms |" in text
    assert "| bm25 | nDCG@10 |" in text  # the paired test of bm25 against vector

    code, out, err = run("-c", "tiny", "-g", "tiny", "--report", str(tmp_path / "report.pdf"))
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: A report is .html or .md, got '{tmp_path / 'report.pdf'}'."]
    assert not (tmp_path / "report.pdf").exists()


def test_a_run_with_zero_queries_is_refused() -> None:
    empty = EvalResult(EvalConfig("c", "g", ("vector",)), "doc", {}, {}, (), 0.0)
    with pytest.raises(InvalidInputError, match="scored no query"):
        html_evaluation(report_data(empty, {}))
