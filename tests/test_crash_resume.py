"""Crash safety with real processes killed by SIGKILL (no handler, no cleanup runs).

* ``reranklens ingest`` killed once some but not all chunks are stored, then run again, ends with
  exactly the ids, texts and metadata of an uninterrupted run into another data dir.
* A process writing judgements one transaction at a time, killed mid-loop, leaves a golden-set
  database that passes ``PRAGMA integrity_check`` with every judgement fully there or absent.
* A process replacing a whole golden set (an import), killed mid-write, leaves the old set or the
  new one, never a mixture.
* The two states a kill can leave that a plain rerun must also repair: a ``NAME.building-*``
  collection of a killed ``--rebuild``, and a collection whose last batch was stored but whose
  bookkeeping (``doc_count``, ``revision``) was not.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reranklens.config import Settings
from reranklens.golden.store import GoldenStore
from reranklens.ingest.pipeline import EMBED_BATCH
from reranklens.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
DOCS = 2 * EMBED_BATCH + 40  # three embedding batches: room to kill after the first
DEADLINE_S = 300
_PROGRESS = re.compile(rb"(\d+)/(\d+)")
ANIMALS = ["quokka", "wombat", "koala", "dingo", "numbat", "bilby", "echidna", "platypus", "emu", "kiwi"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "OPENAI_", "RERANKLENS_"))}
    env |= {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"} | extra
    return env


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``DOCS`` short notes, one chunk each, in nested folders."""
    root = tmp_path_factory.mktemp("crash-corpus") / "notes"
    for i in range(DOCS):
        folder = root / f"part-{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        a, b = ANIMALS[i % len(ANIMALS)], ANIMALS[(i * 3 + 1) % len(ANIMALS)]
        (folder / f"note-{i:04d}.txt").write_text(
            f"Field note {i}: the {a} was seen near the {b} at waterhole {i % 13} after {i % 5} days of rain."
        )
    return root


def ingest_command(data_dir: Path, corpus: Path) -> list[str]:
    return [sys.executable, "-m", "reranklens.cli", "--data-dir", str(data_dir), "ingest", str(corpus), "-c", "notes"]


def stored(data_dir: Path) -> list[tuple[str, str, str]]:
    """(id, document, metadata as JSON) of every chunk of ``notes``, sorted."""
    result = Workspace(Settings(data_dir=data_dir)).store.collection("notes").get(include=["documents", "metadatas"])
    rows = zip(result["ids"], result["documents"], result["metadatas"], strict=True)
    return sorted((i, d, json.dumps(m, sort_keys=True)) for i, d, m in rows)


def kill_after_first_batch(command: list[str]) -> tuple[int, int]:
    """Run ``command`` with its progress on stderr; SIGKILL it once it reports a stored batch but
    not the last one. Returns (chunks reported stored, chunks to store)."""
    env = clean_env(RERANKLENS_PROGRESS="1", TQDM_MININTERVAL="0")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=REPO)
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 1.0)
            if not ready:
                continue
            data = os.read(process.stderr.fileno(), 65536)
            if not data:
                break  # exited
            seen += data
            progress = [(int(d), int(t)) for d, t in _PROGRESS.findall(seen) if int(t) > 0]
            if progress and 0 < progress[-1][0] < progress[-1][1]:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                return progress[-1]
        pytest.fail(f"ingest never reported a partial batch; stderr: {seen[-2000:].decode(errors='replace')}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    raise AssertionError("unreachable")


@pytest.mark.slow
def test_ingest_killed_half_way_and_rerun_equals_an_uninterrupted_run(corpus: Path, tmp_path: Path) -> None:
    interrupted, reference = tmp_path / "interrupted", tmp_path / "reference"

    done, total = kill_after_first_batch(ingest_command(interrupted, corpus))
    assert total == DOCS and EMBED_BATCH <= done < total

    rerun = subprocess.run(
        [*ingest_command(interrupted, corpus), "--json"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=REPO,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    # The killed run had stored at least the batches it reported, and not everything.
    assert (report["documents"], report["chunks_total"], report["chunks_removed"]) == (DOCS, DOCS, 0)
    assert 0 < report["chunks_added"] <= DOCS - done

    Workspace(Settings(data_dir=reference)).ingest([corpus], "notes")  # uninterrupted, in this process

    resumed, uninterrupted = stored(interrupted), stored(reference)
    assert len(resumed) == DOCS
    assert resumed == uninterrupted  # no duplicates, nothing missing, same texts and metadata
    meta = Workspace(Settings(data_dir=interrupted)).store.metadata("notes")
    assert meta["doc_count"] == DOCS


@pytest.mark.slow
def test_judgement_writer_killed_mid_loop_leaves_whole_judgements(tmp_path: Path) -> None:
    db = tmp_path / "golden.sqlite"
    count = 50_000
    process = subprocess.Popen(
        [sys.executable, str(TESTS / "golden_writer.py"), str(db), "labels", "0", str(count)],
        stdout=subprocess.PIPE,
        env=clean_env(PYTHONPATH=str(REPO)),
        cwd=REPO,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + DEADLINE_S
        while _judgement_rows(db) < 200:
            assert process.poll() is None and time.monotonic() < deadline, "writer ended before it was killed"
            time.sleep(0.02)  # polling interval
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    judgements = GoldenStore(db).judgements("labels")
    numbers = sorted(int(j.target_id.removeprefix("chunk-")) for j in judgements)
    assert 200 <= len(numbers) < count
    assert numbers == list(range(len(numbers)))  # one transaction each, in order: a prefix, no gaps
    for j in judgements:
        number = int(j.target_id.removeprefix("chunk-"))
        assert (j.level, j.grade, j.who, j.origin) == ("chunk", number % 4, "writer-0", "human")
        assert j.updated_at


def _judgement_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM judgements").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0


_SET_WRITER = """
import sys
from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement
store = GoldenStore(__import__("pathlib").Path(sys.argv[1]))
queries = [GoldenQuery(f"q{i}", f"question {i}") for i in range(400)]
for round in range(10_000):
    grade = 1 + round % 2
    note = f"round {round}"
    judgements = [Judgement(f"q{i}", "doc", f"d{i}-{k}", grade, note=note) for i in range(400) for k in range(5)]
    store.write_set("imported", queries, judgements, source=f"round {round}")
    print(f"wrote {round}", flush=True)
"""


@pytest.mark.slow
def test_set_import_killed_mid_write_leaves_one_whole_version(tmp_path: Path) -> None:
    db = tmp_path / "golden.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-c", _SET_WRITER, str(db)], stdout=subprocess.PIPE, env=clean_env(), cwd=REPO
    )
    assert process.stdout is not None
    try:
        for expected in (b"wrote 0", b"wrote 1"):
            assert process.stdout.readline().strip() == expected
        process.send_signal(signal.SIGKILL)  # round 2 is being built or written
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    store = GoldenStore(db)
    judgements = store.judgements("imported")
    assert len(store.query_list("imported")) == 400 and len(judgements) == 2000
    assert len({(j.grade, j.note) for j in judgements}) == 1  # one round's version, whole
    assert store.info("imported").judgements == 2000


def test_rebuild_drops_what_a_killed_rebuild_left_behind(tmp_path: Path) -> None:
    ws = Workspace(Settings(data_dir=tmp_path / "store"))
    docs = Path(__file__).parent / "fixtures" / "engine" / "docs"
    ws.ingest([docs], "notes")
    leftover = "notes.building-0badc0de"  # what a --rebuild SIGKILLed before its swap leaves
    ws.store.create(leftover, ws.embedder().name)
    assert [c.name for c in ws.collections()] == ["notes"]  # never offered to pick

    running = "notes.building-5ca1ab1e"  # another person's rebuild, started a minute ago
    ws.store.create(running, ws.embedder().name, {"build_started": time.time() - 60})

    ws.ingest([docs], "notes", rebuild=True)
    assert ws.store.names() == ["notes", running]


def test_a_run_killed_before_its_bookkeeping_is_finished_by_the_rerun(tmp_path: Path) -> None:
    ws = Workspace(Settings(data_dir=tmp_path / "store"))
    docs = Path(__file__).parent / "fixtures" / "engine" / "docs"
    ws.ingest([docs], "notes")
    collection = ws.store.collection("notes")
    # The state after the last batch was stored but before doc_count and revision were written.
    unfinished = {k: v for k, v in (collection.metadata or {}).items() if k != "doc_count"}
    collection.modify(metadata=unfinished)
    assert "doc_count" not in ws.store.metadata("notes")

    report = ws.ingest([docs], "notes")
    assert (report.chunks_added, report.chunks_removed) == (0, 0)
    meta = ws.store.metadata("notes")
    assert meta["doc_count"] == 3 and meta["revision"] != unfinished["revision"]
