"""Robustness battery: bad input everywhere a user can type or upload, crashes mid-way,
concurrent users, untrusted documents, secrets and a Chroma server that restarts.

This module holds the bad-input cases; the table lists every case of the battery and where it is
tested. Messages are one line and name the file (``file:line`` where there is one); a batch keeps
the good items, lists the bad ones and exits 1 (like ``cp``); nothing stored changes; no traceback.

==  ================================================  =======================================  =======================
#   case                                              expected                                 test_...
==  ================================================  =======================================  =======================
1   empty / whitespace-only query (engine, CLI)       EmptyQueryError; one line, exit 1        empty_queries*
2   20,000-character query (engine, CLI, page)        refused: "the limit is 2,000"            long_query*, untrusted*
3   query at the limit, control chars, RTL, markup    searched, no error                       odd_queries*
4   empty / whitespace-only file                      skipped: "contains no text"              bad_file*
5   binary file (NUL bytes)                           skipped: "looks binary"                  bad_file*
6   not UTF-8                                         skipped: "is not UTF-8 text (byte N)"    bad_file*
7   over RERANKLENS_MAX_FILE_MB (default 20)          skipped: "over the N MB limit"           bad_file*, size*
8   PDF without text; broken PDF                      skipped: "run OCR first"; "not a..."     bad_file*
9   .zip / .tar.gz / .7z (in a folder, named)         "archives are not unpacked; ..."         bad_file*, archive*
10  symlink (file, folder) leaving the folder         skipped: "symlink points outside"        bad_file*
11  broken symlink; symlink inside the folder         skipped: "broken symlink"; ingested      bad_file*, symlink*
12  file name with newline / ESC / backslash          skipped: "rename it"; shown escaped      bad_file*
13  folder of good and bad files (engine, CLI)        good ingested, a line per bad, exit 1    batch_keeps*
14  nothing readable, into an existing collection     one error line, collection unchanged     batch_leaves*
15  corpus.jsonl: bad JSON, no _id, dup id, bytes     line skipped (file:line), rest in        malformed_beir*
16  queries.jsonl, qrels.tsv: bad line/grade/id/dup   line skipped (file:line), exit 1         malformed_beir*
17  golden import: JSON, grade, unknown id, dup, enc  one error line file:line, set kept       golden_import*
18  the CLI as a real process on bad input            no "Traceback", one line, exit 1         cli_process*
19  golden + BEIR parsers, any bytes (hypothesis)     only RerankLensError; set kept on error  properties
20  jsonl/csv golden round trip, any text (hyp.)      lossless                                 properties
21  chunker, any text (hypothesis)                    exact slices, in window, cover tokens    properties
22  ingest SIGKILLed after a batch, then rerun        same ids, texts, metadata as one run     crash_resume
23  judgement writer / set import SIGKILLed           integrity ok; all or nothing             crash_resume
24  threads querying + labeling one Workspace         one model instance, no label lost        concurrency
25  two browser sessions labeling at once             both labels stored                       concurrency_browser
26  markup in docs, queries, set names, ids, files    text only: pages, reports, Chromium      untrusted*, *browser
27  API keys in env (OpenAI, rerank API)              none in data, logs, pages, errors        secrets
28  Chroma server SIGKILLed, restarted                one-line error on page; recovers         chroma_restart
29  upload page (pages/corpus.py)                     folder via AppTest; upload names         corpus_page*
==  ================================================  =======================================  =======================
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfWriter

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.errors import EmptyQueryError, InvalidInputError, UnreadableFileError
from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement
from reranklens.ingest.readers import discover_files
from reranklens.retrieve.search import MAX_QUERY_CHARS
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
REPO = Path(__file__).resolve().parents[1]
GOOD_TEXT = "Quokkas live on Rottnest Island and eat leaves at night. They are friendly marsupials.\n"
Run = Callable[..., tuple[int, str, str]]


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("robust") / "store"
    Workspace(Settings(data_dir=path)).ingest([FIXTURE_DOCS / "notes.txt"], "known")
    (path / ".demo-ingested").touch()  # no first-run demo ingest
    return path


@pytest.fixture(scope="module")
def ws(data_dir: Path) -> Workspace:
    return Workspace(Settings(data_dir=data_dir))


@pytest.fixture
def run(data_dir: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*argv) -> (exit code, stdout, stderr)`` of ``reranklens`` against the module's data dir."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["--data-dir", str(data_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def snapshot(ws: Workspace, name: str) -> tuple[list[tuple[str, str]], str]:
    result = ws.store.collection(name).get(include=["documents"])
    return sorted(zip(result["ids"], result["documents"], strict=True)), ws.store.metadata(name)["revision"]


def blank_pdf(path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with path.open("wb") as handle:
        writer.write(handle)


# name in the folder -> (what to create, fragment the skip line must hold)
BAD_FILES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "empty.md": (lambda p, _: p.write_bytes(b""), "contains no text"),
    "blank.txt": (lambda p, _: p.write_text(" \n\t\n"), "contains no text"),
    "binary.txt": (lambda p, _: p.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04"), "looks binary"),
    "latin1.md": (lambda p, _: p.write_bytes("Caf\xe9 cr\xe8me br\xfbl\xe9e".encode("latin-1")), "is not UTF-8 text"),
    "huge.txt": (lambda p, _: p.write_text("word " * 300_000), "over the 1 MB limit"),
    "scan.pdf": (lambda p, _: blank_pdf(p), "without extractable text"),
    "broken.pdf": (lambda p, _: p.write_bytes(b"%PDF-1.4 this is not really a pdf"), "not a readable PDF"),
    "docs.zip": (
        lambda p, _: zipfile.ZipFile(p, "w").writestr("inner.md", GOOD_TEXT),
        "archives are not unpacked; extract first",
    ),
    "docs.tar.gz": (lambda p, _: tarfile.open(p, "w:gz").close(), "archives are not unpacked; extract first"),
    "docs.7z": (lambda p, _: p.write_bytes(b"7z\xbc\xaf\x27\x1c"), "archives are not unpacked; extract first"),
    "leak.md": (lambda p, outside: p.symlink_to(outside / "secret.md"), "symlink points outside"),
    "leakdir": (lambda p, outside: p.symlink_to(outside, target_is_directory=True), "symlink points outside"),
    "dangling.md": (lambda p, outside: p.symlink_to(outside / "gone.md"), "broken symlink"),
    "new\nline.md": (lambda p, _: p.write_text(GOOD_TEXT), "control character or a backslash; rename it"),
    "esc\x1b[31mred.md": (lambda p, _: p.write_text(GOOD_TEXT), "control character or a backslash; rename it"),
    "windows\\path.md": (lambda p, _: p.write_text(GOOD_TEXT), "control character or a backslash; rename it"),
}


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """A folder with one good file, one good file behind an inside symlink and every bad file."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("The outside secret is 42 quokkas.\n")
    folder = tmp_path / "messy"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.md").write_text("# Quokkas\n\n" + GOOD_TEXT)
    (folder / "sub" / "real.txt").write_text("Wombats dig burrows with their strong claws.\n")
    (folder / "inside-link.txt").symlink_to(folder / "sub" / "real.txt")
    for name, (make, _) in BAD_FILES.items():
        make(folder / name, outside)
    return folder


def skip_line(skipped: list[str] | tuple[str, ...], name: str) -> str:
    shown = name.encode("unicode_escape").decode("ascii").replace("\\\\", "\\")
    matches = [line for line in skipped if f"/{shown}:" in line]
    assert len(matches) == 1, (name, skipped)
    return matches[0]


# -- queries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\n\t "])
def test_empty_queries_are_refused_by_the_engine(ws: Workspace, query: str) -> None:
    with pytest.raises(EmptyQueryError, match="The query is empty: type a question to search for."):
        ws.search(query, "known")


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_queries_are_one_error_line_in_the_cli(run: Run, query: str) -> None:
    code, out, err = run("query", query, "-c", "known")
    assert (code, out) == (1, "")
    assert err == "error: The query is empty: type a question to search for.\n"


def test_long_query_is_refused_with_the_limit(ws: Workspace) -> None:
    with pytest.raises(InvalidInputError) as raised:
        ws.search("quokka " * 2858, "known")  # 20,005 characters, stripped to 20,005 - 1
    assert str(raised.value) == (
        "The query is 20,005 characters long; the limit is 2,000 (the models read only the first few hundred "
        "words): shorten it to the question you want answered."
    )


def test_long_query_is_one_error_line_in_the_cli(run: Run) -> None:
    code, out, err = run("query", "x" * 20_000, "-c", "known", "--json")
    assert (code, out) == (1, "")
    assert err.startswith("error: The query is 20,000 characters long; the limit is 2,000")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "query",
    [
        "q" * (MAX_QUERY_CHARS - 7) + " quokka",
        "quokka\x00\x07\x1b[31m colony",
        "\u202equokka\u202c 🦘 کوالا",
        "<script>alert(1)</script> ![x](http://127.0.0.1:9/x.png) quokka",
    ],
    ids=["at-the-limit", "control-chars", "rtl-emoji", "markup"],
)
def test_odd_queries_are_searched(ws: Workspace, query: str) -> None:
    for mode in ("vector", "bm25", "hybrid"):
        result = ws.search(query, "known", mode=mode, candidates=5)
        assert result.query == query.strip()
        assert all(hit.chunk.doc_id == "notes.txt" for hit in result.hits)


# -- files ----------------------------------------------------------------------------------------


def test_each_bad_file_is_skipped_with_one_line_naming_it(messy: Path) -> None:
    files, skipped = discover_files(messy, max_file_mb=1)
    readable = {source.doc_id for source in files}
    assert {"good.md", "sub/real.txt", "inside-link.txt"} <= readable
    for line in skipped:
        assert "\n" not in line and "\x1b" not in line, line
    from reranklens.ingest.pipeline import _gather

    inputs = _gather([messy], max_file_mb=1)
    assert sorted(d.doc_id for d in inputs.documents) == ["good.md", "inside-link.txt", "sub/real.txt"]
    assert "secret" not in " ".join(d.text for d in inputs.documents)
    for name, (_, fragment) in BAD_FILES.items():
        line = skip_line(inputs.skipped, name)
        assert fragment in line, line
        assert "\n" not in line and "\x1b" not in line
    assert len(inputs.skipped) == len(BAD_FILES)


def test_symlink_inside_the_folder_is_ingested_under_its_own_name(messy: Path) -> None:
    inputs_files, _ = discover_files(messy, max_file_mb=1)
    link = next(f for f in inputs_files if f.doc_id == "inside-link.txt")
    assert link.path.is_symlink() and link.path.resolve() == (messy / "sub" / "real.txt").resolve()


def test_archive_named_explicitly_is_an_error(tmp_path: Path) -> None:
    archive = tmp_path / "docs.zip"
    zipfile.ZipFile(archive, "w").writestr("inner.md", GOOD_TEXT)
    with pytest.raises(UnreadableFileError, match=r"docs\.zip: archives are not unpacked; extract first"):
        discover_files(archive)


def test_size_limit_comes_from_the_environment(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    assert settings.max_file_mb == 20  # the documented default
    big = tmp_path / "big.txt"
    big.write_text("quokka " * 200_000)  # 1.3 MB
    monkeypatch.setenv("RERANKLENS_MAX_FILE_MB", "1")
    assert Settings.from_env().max_file_mb == 1
    code, out, err = run("ingest", str(big), "-c", "never-created")
    assert code == 1 and out == ""
    assert err == f"error: {big}: 1.3 MB is over the 1 MB limit; split it, or raise RERANKLENS_MAX_FILE_MB\n"
    monkeypatch.setenv("RERANKLENS_MAX_FILE_MB", "many")
    code, _, err = run("ingest", str(big), "-c", "never-created")
    assert err == "error: RERANKLENS_MAX_FILE_MB must be an integer, got 'many': fix or unset it.\n"


def test_batch_keeps_good_files_reports_bad_ones_and_exits_1(
    run: Run, ws: Workspace, messy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANKLENS_MAX_FILE_MB", "1")
    code, out, err = run("ingest", str(messy), "-c", "messy")
    assert code == 1
    assert out.startswith("Collection 'messy': 3 documents,")
    lines = err.splitlines()
    assert len(lines) == len(BAD_FILES) and all(line.startswith("skipped: ") for line in lines), err
    assert "Traceback" not in err and "\x1b" not in err
    stored = ws.store.all_chunks("messy").chunks
    assert {c.doc_id for c in stored} == {"good.md", "inside-link.txt", "sub/real.txt"}


def test_batch_leaves_an_existing_collection_unchanged(run: Run, ws: Workspace, tmp_path: Path) -> None:
    before = snapshot(ws, "known")
    only_bad = tmp_path / "only-bad"
    only_bad.mkdir()
    (only_bad / "binary.txt").write_bytes(b"\x00\x01")
    (only_bad / "a.zip").write_bytes(b"PK\x03\x04")
    code, out, err = run("ingest", str(only_bad), "-c", "known")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: Nothing to ingest from {only_bad}: ") and len(err.splitlines()) == 1
    assert snapshot(ws, "known") == before


# -- BEIR folders ---------------------------------------------------------------------------------


@pytest.fixture
def bad_beir(tmp_path: Path) -> Path:
    folder = tmp_path / "rough-beir"
    folder.mkdir()
    corpus = [
        b'{"_id": "d1", "title": "Quokkas", "text": "Quokkas live on Rottnest Island."}',
        b'{"_id": "d2", "text": "Wombats dig burrows."',  # 2: bad JSON
        b'{"title": "no id", "text": "orphan text"}',  # 3: no _id
        b'{"_id": "d1", "text": "a second d1"}',  # 4: duplicate id
        b'{"_id": "d5", "text": "caf\xe9"}',  # 5: not UTF-8
        b"[1, 2, 3]",  # 6: not an object
        b'{"_id": "d7", "text": "Koalas sleep most of the day."}',
    ]
    (folder / "corpus.jsonl").write_bytes(b"\n".join(corpus) + b"\n")
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "where do quokkas live"}\nnot json\n{"_id": "q3", "text": "koala sleep"}\n'
    )
    (folder / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n"
        "q1\td1\t2\n"
        "q1\td7\thigh\n"  # 3: non-numeric grade
        "q9\td1\t1\n"  # 4: unknown query id
        "q1\td1\t0\n"  # 5: conflicting duplicate
        "q3\n"  # 6: too few columns
        "q3\td7\t1\n"
    )
    return folder


def test_malformed_beir_lines_are_skipped_with_file_and_line(run: Run, ws: Workspace, bad_beir: Path) -> None:
    code, out, err = run("ingest", str(bad_beir), "-c", "rough")
    assert code == 1, err
    assert "Collection 'rough': 2 documents" in out and "Golden set 'rough-beir': 2 queries, 2 judgements" in out
    expected = {
        "corpus.jsonl:2": "bad JSON",
        "corpus.jsonl:3": 'needs a JSON object with "_id"',
        "corpus.jsonl:4": "document id 'd1' appears earlier",
        "corpus.jsonl:5": "not UTF-8 text",
        "corpus.jsonl:6": 'needs a JSON object with "_id"',
        "queries.jsonl:2": "not a BEIR query line",
        "qrels.tsv:3": "grade 'high' is not a number",
        "qrels.tsv:4": "query id 'q9' is not in queries.jsonl",
        "qrels.tsv:5": "'q1'/'d1' was graded 2 earlier",
        "qrels.tsv:6": "expected 3 tab-separated columns",
    }
    lines = err.splitlines()
    assert len(lines) == len(expected), err
    for where, fragment in expected.items():
        [line] = [line for line in lines if f"{bad_beir}/{where}: skipped, " in line]
        assert fragment in line, line
    assert {c.doc_id for c in ws.store.all_chunks("rough").chunks} == {"d1", "d7"}
    assert ws.golden.qrels("rough-beir") == {"q1": {"d1": 2}, "q3": {"d7": 1}}


# -- golden-set imports: one unit, refused whole -------------------------------------------------


@pytest.fixture
def kept_set(data_dir: Path) -> GoldenStore:
    store = GoldenStore(data_dir / "golden.sqlite")
    store.write_set("kept", [GoldenQuery("q1", "where do quokkas live")], [Judgement("q1", "doc", "d1", 2)])
    return store


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("bad.jsonl", '{"query_id": "q1", "text": "a"}\n{"query_id": "q2", "text": \n', "bad.jsonl:2: not valid JSON"),
        ("grade.csv", "query_id,query,level,target_id,grade\nq1,a,doc,d1,high\n", "grade.csv:2: grade 'high'"),
        (
            "dup.csv",
            "query_id,query,level,target_id,grade\nq1,a,doc,d1,1\nq1,a,doc,d1,3\n",
            "Conflicting judgements of doc 'd1' for query 'q1'",
        ),
        ("latin1.csv", "query_id,query\nq1,caf\xe9\n", "latin1.csv: is not UTF-8 text"),
    ],
)
def test_golden_import_of_a_bad_file_is_one_line_and_keeps_the_set(
    run: Run, kept_set: GoldenStore, tmp_path: Path, name: str, content: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1" if "latin1" in name else "utf-8"))
    before = (kept_set.query_list("kept"), kept_set.judgements("kept"))
    code, out, err = run("golden", "import", str(path), "--name", "kept")
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and f"{tmp_path}/{name}" in err and fragment in err, err
    assert len(err.splitlines()) == 1, err
    assert (kept_set.query_list("kept"), kept_set.judgements("kept")) == before


def test_golden_import_naming_an_unknown_query_is_refused(run: Run, kept_set: GoldenStore, tmp_path: Path) -> None:
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "where do quokkas live"}\n')
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq7\td2\t1\n")
    before = kept_set.judgements("kept")
    code, _, err = run("golden", "import", str(tmp_path), "--name", "kept")
    assert code == 1
    assert err.startswith(f"error: {tmp_path}/qrels.tsv:3: query id 'q7' is not among the queries"), err
    assert kept_set.judgements("kept") == before


# -- the CLI as a real process --------------------------------------------------------------------


def test_cli_process_on_bad_input_prints_no_traceback(data_dir: Path, tmp_path: Path) -> None:
    """Real processes (argument parsing, logging set-up, exit codes) on inputs that used to crash."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "OPENAI_", "RERANKLENS_"))}
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_bytes(b'{"query_id": "q1", "text": "\xff\xfe"}\n')
    link = tmp_path / "link-to-nowhere.md"
    link.symlink_to(tmp_path / "nowhere.md")
    cases = [
        (["query", "", "-c", "known"], "error: The query is empty"),
        (["golden", "import", str(bad_jsonl), "--name", "x"], "is not UTF-8 text"),
        (["ingest", str(link), "-c", "never"], "does not exist"),
        (["golden", "import", str(tmp_path / "ctrl\x1bname.csv"), "--name", "x"], "ctrl"),
        (["golden", "show", "two\nlines"], "No golden set named 'two lines'"),
    ]
    for argv, fragment in cases:
        done = subprocess.run(
            [sys.executable, "-m", "reranklens.cli", "--data-dir", str(data_dir), *argv],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        assert done.returncode == 1, (argv, done.stderr)
        assert "Traceback" not in done.stderr and fragment in done.stderr, (argv, done.stderr)
        assert len(done.stderr.splitlines()) == 1 and "\x1b" not in done.stderr, (argv, done.stderr)
        assert done.stdout == ""
