"""Faults with the shared state on PostgreSQL: a label writer killed by SIGKILL mid-loop leaves every label whole
or absent, and a database server that goes away is one clear error that ends by itself once it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from reranklens import database
from reranklens.access.audit import AuditLog
from reranklens.golden.store import GoldenStore

if TYPE_CHECKING:
    from fixtures_postgres import PostgresServer

pytest_plugins = ["fixtures_postgres"]

TESTS = Path(__file__).resolve().parent
DEADLINE_S = 300


def _rows(url: str) -> int:
    with database.engine(database.normalise_url(url)).connect() as connection:
        if "judgements" not in sa.inspect(connection).get_table_names():
            return 0
        return int(connection.exec_driver_sql("SELECT COUNT(*) FROM judgements").scalar_one())


@pytest.mark.slow
def test_a_label_writer_killed_mid_loop_leaves_whole_labels(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(database.URL_ENV, postgres_url)
    count = 50_000
    process = subprocess.Popen(
        [sys.executable, str(TESTS / "golden_writer.py"), str(tmp_path / "unused.sqlite"), "labels", "0", str(count)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(TESTS.parent)},
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + DEADLINE_S
        while _rows(postgres_url) < 200:
            assert process.poll() is None and time.monotonic() < deadline, "writer ended before it was killed"
            time.sleep(0.02)  # polling interval
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "unused.sqlite").exists()  # the labels went to PostgreSQL only

    judgements = GoldenStore(tmp_path / "unused.sqlite").judgements("labels")
    numbers = sorted(int(j.target_id.removeprefix("chunk-")) for j in judgements)
    assert 200 <= len(numbers) < count
    assert numbers == list(range(len(numbers)))  # one transaction each, in order: a prefix, no gaps
    for j in judgements:
        number = int(j.target_id.removeprefix("chunk-"))
        assert (j.level, j.grade, j.who, j.origin) == ("chunk", number % 4, "writer-0", "human")
        assert j.updated_at


def test_a_database_that_goes_away_is_one_clear_error_until_it_is_back(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(database.URL_ENV, postgres_url.replace("postgres@", "postgres:s3cret@"))
    log = AuditLog(tmp_path)
    log.record("ana", "ingest", "before")
    postgres_server.stop()
    try:
        with pytest.raises(database.DatabaseUnavailableError) as caught:
            log.entries()
        message = str(caught.value)
        assert message.startswith(
            f"The database at postgresql+psycopg://postgres:***@127.0.0.1:{postgres_server.port}/"
        )
        assert "cannot be reached" in message and "RerankLens reconnects by itself" in message
        assert "\n" not in message and "s3cret" not in message
    finally:
        postgres_server.start()
    log.record("ana", "ingest", "after")  # the pool's stale connections are replaced, no restart of the app
    assert [entry.target for entry in log.entries()] == ["after", "before"]
