"""User errors through the ``reranklens`` command: exit code 1 and exactly one ``error:`` line on
stderr, never a traceback; and a failed ingest leaves the store as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reranklens.cli import main as cli
from reranklens.config import Settings
from reranklens.workspace import Workspace

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "engine" / "docs"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-errors") / "store"
    Workspace(Settings(data_dir=path)).ingest([FIXTURE_DOCS / "notes.txt"], "known")
    # The first `query` or `collections` in a new data dir ingests the bundled demo: not wanted here.
    (path / ".demo-ingested").touch()
    return path


@pytest.fixture
def run(data_dir: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*argv) -> (exit code, stdout, stderr)`` against the module's data dir, with the
    environment cleared of CHROMA_* and OPENAI_* by the ``settings`` fixture."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["--data-dir", str(data_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def assert_one_error_line(code: int, err: str, starts: str) -> None:
    assert code == 1
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {starts}"), err


def collection_names(data_dir: Path) -> list[str]:
    return Workspace(Settings(data_dir=data_dir)).store.names()


def test_unknown_collection(run: Run) -> None:
    code, out, err = run("query", "quokka", "-c", "missing")
    assert_one_error_line(code, err, "No collection named 'missing' (existing: known)")
    assert "reranklens ingest PATH --collection missing" in err
    assert out == ""


def test_delete_unknown_collection(run: Run) -> None:
    code, _, err = run("delete", "missing")
    assert_one_error_line(code, err, "No collection named 'missing'")


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
@pytest.mark.parametrize("mode", ["vector", "bm25"])
def test_empty_query(run: Run, query: str, mode: str) -> None:
    code, out, err = run("query", query, "-c", "known", "--mode", mode)
    assert_one_error_line(code, err, "The query is empty: type a question to search for.")
    assert out == ""


@pytest.mark.parametrize("flag", ["-n", "--candidates"])
@pytest.mark.parametrize("candidates", [0, 201])
def test_candidates_out_of_range(run: Run, flag: str, candidates: int) -> None:
    code, _, err = run("query", "quokka", "-c", "known", flag, str(candidates))
    assert_one_error_line(code, err, f"Candidate count must be between 1 and 200, got {candidates}.")


def test_binary_file(run: Run, data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(b"GIF89a\x00\x00\x01 not text")
    code, out, err = run("ingest", str(path), "-c", "from-binary")
    assert_one_error_line(code, err, f"Nothing to ingest from {path}: {path}: looks binary (contains NUL bytes)")
    assert out == ""
    assert "from-binary" not in collection_names(data_dir)


def test_non_utf8_file(run: Run, data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\xe9 au lait".encode("latin-1"))
    code, _, err = run("ingest", str(path), "-c", "from-latin1")
    assert_one_error_line(code, err, f"Nothing to ingest from {path}: {path}: is not UTF-8 text (byte 3)")
    assert "iconv -t UTF-8" in err
    assert "from-latin1" not in collection_names(data_dir)


def test_empty_folder(run: Run, data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    code, _, err = run("ingest", str(folder), "-c", "from-empty")
    assert_one_error_line(code, err, f"Nothing to ingest from {folder}: {folder}: no .md, .txt, .html or .pdf files")
    assert "from-empty" not in collection_names(data_dir)


def test_missing_path(run: Run, tmp_path: Path) -> None:
    code, _, err = run("ingest", str(tmp_path / "nope"), "-c", "from-nothing")
    assert_one_error_line(code, err, f"{tmp_path / 'nope'}: does not exist")


def test_missing_openai_key(run: Run, data_dir: Path) -> None:
    code, _, err = run("ingest", str(FIXTURE_DOCS), "-c", "needs-key", "--embedder", "openai:text-embedding-3-small")
    assert_one_error_line(code, err, "OPENAI_API_KEY is not set: export it")
    assert "needs-key" not in collection_names(data_dir)


@pytest.mark.parametrize("name", ["ab", "bad name!", "trailing-"])
def test_invalid_collection_name(run: Run, data_dir: Path, name: str) -> None:
    code, _, err = run("ingest", str(FIXTURE_DOCS), "-c", name)
    assert_one_error_line(code, err, f"Invalid collection name '{name}': use 3-128 letters")
    assert name not in collection_names(data_dir)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--chunk-tokens", "8"], "chunk size must be between 16 and 8192 tokens, got 8"),
        (["--chunk-tokens", "64", "--chunk-overlap", "40"], "chunk overlap must be between 0 and half"),
    ],
)
def test_invalid_chunking_options(run: Run, data_dir: Path, flags: list[str], message: str) -> None:
    code, _, err = run("ingest", str(FIXTURE_DOCS), "-c", "bad-chunks", *flags)
    assert_one_error_line(code, err, message)
    assert "bad-chunks" not in collection_names(data_dir)


def test_failed_ingest_leaves_the_existing_collection_unchanged(run: Run, data_dir: Path, tmp_path: Path) -> None:
    store = Workspace(Settings(data_dir=data_dir)).store
    before = ({c.chunk_id for c in store.all_chunks("known").chunks}, store.metadata("known")["revision"])
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02")
    for extra in ([], ["--rebuild"]):
        code, _, err = run("ingest", str(binary), "-c", "known", *extra)
        assert_one_error_line(code, err, "Nothing to ingest from")
    after = ({c.chunk_id for c in store.all_chunks("known").chunks}, store.metadata("known")["revision"])
    assert after == before


def test_skipped_files_are_listed_and_make_the_exit_code_1(run: Run, data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("Otters hold hands while they sleep.", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01")
    code, out, err = run("ingest", str(folder), "-c", "mixed")
    assert code == 1
    assert out.startswith("Collection 'mixed': 1 document, 1 chunk (1 added, 0 removed)")
    assert err.splitlines() == [f"skipped: {folder / 'binary.txt'}: looks binary (contains NUL bytes), not text"]
    code, out, _ = run("query", "otters", "-c", "mixed", "--mode", "bm25")
    assert code == 0 and "good.txt" in out


@pytest.mark.parametrize("variable", ["RERANKLENS_CHUNK_TOKENS", "CHROMA_PORT"])
def test_malformed_environment_variable_is_a_user_error(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    """A typo in an environment variable is the user's to fix: one ``error:`` line and exit 1,
    not exit 2 with "internal error ... rerun with --debug"."""
    monkeypatch.setenv(variable, "abc")
    code, _, err = run("collections")
    assert_one_error_line(code, err, f"{variable} must be an integer, got 'abc'")
