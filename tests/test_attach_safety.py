"""Attaching a Chroma store someone typed: the server's Chroma credentials (``CHROMA_CLIENT_AUTH_*``) go only to
the configured ``CHROMA_HOST``, https stays https, ``user:password@`` is never stored; on the Corpus page only
allowed hosts and directories inside the ingest roots are read; the snapshot copy never follows a link, fits
the free disk, and leaves no stale partial copy; where an attachment or a trace set comes from is shown to
admins only. The servers here record what reaches them (``recording_server.py``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from fixtures_attach import EMBEDDER
from recording_server import FirstBytesServer, RecordingServer
from test_page_traces import FIXTURE, page, run_ok, submit, unescaped

from components.shared.resources import get_workspace
from reranklens.config import Settings
from reranklens.errors import InvalidInputError, StoreUnavailableError
from reranklens.retrieve.attach import SNAPSHOT_DIR, AttachedStore, Attachment, attachment_source
from reranklens.retrieve.traces import read_jsonl
from reranklens.workspace import Workspace

pytest_plugins = ["fixtures_attach"]

SECRET = "chroma-server-secret"


@pytest.fixture
def chroma_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's own Chroma token in the environment, as for a CHROMA_HOST that needs one."""
    monkeypatch.setenv("CHROMA_CLIENT_AUTH_PROVIDER", "chromadb.auth.token_authn.TokenAuthClientProvider")
    monkeypatch.setenv("CHROMA_CLIENT_AUTH_CREDENTIALS", SECRET)


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer({"/api/v2/heartbeat": (200, "application/json", b'{"nanosecond heartbeat": 1}')}) as server:
        yield server


def open_attached(source: str, settings: Settings) -> None:
    """Open ``source`` as an attachment; the recording servers speak no Chroma, so opening fails after the
    first request, which is all these tests look at."""
    with pytest.raises(StoreUnavailableError, match="Cannot reach the Chroma server"):
        AttachedStore(Attachment("theirs", attachment_source(source), "docs", EMBEDDER), settings)


@pytest.mark.usefixtures("chroma_auth")
def test_a_typed_address_gets_no_environment_credentials(recorder: RecordingServer, settings: Settings) -> None:
    open_attached(f"http://someone:hunter2@127.0.0.1:{recorder.port}", settings)
    assert recorder.requests
    assert recorder.header_values("authorization") == [] and recorder.header_values("x-chroma-token") == []
    assert SECRET not in repr(recorder.requests)

    # The configured CHROMA_HOST is where the token belongs.
    recorder.requests.clear()
    configured = Settings(data_dir=settings.data_dir, chroma_host="127.0.0.1", chroma_port=recorder.port)
    open_attached(recorder.url, configured)
    assert recorder.header_values("authorization") == [f"Bearer {SECRET}"]


@pytest.mark.usefixtures("chroma_auth")
def test_https_is_spoken_over_tls(settings: Settings) -> None:
    with FirstBytesServer() as server:
        open_attached(f"https://127.0.0.1:{server.port}", settings)
    assert server.received and server.received[0][:1] == b"\x16"  # a TLS handshake, not "GET /api/..."
    assert not any(SECRET.encode() in first for first in server.received)


def test_stored_sources_have_no_credentials(tmp_path: Path) -> None:
    assert attachment_source(" https://me:pw@chroma.internal:8443/ ") == "https://chroma.internal:8443/"
    assert attachment_source(str(tmp_path / "a" / ".." / "b")) == str((tmp_path / "b").resolve())


def linked_copy(their_chroma: Path, tmp_path: Path, target: Path, name: str) -> Path:
    """A copy of their Chroma directory with ``name`` a symbolic link to ``target``."""
    copy = tmp_path / "linked" / "chroma"
    shutil.copytree(their_chroma, copy)
    (copy / name).symlink_to(target, target_is_directory=target.is_dir())
    return copy


@pytest.mark.parametrize("which", ["folder", "file"])
def test_a_link_in_the_directory_is_never_copied(
    their_chroma: Path, data_dir: Path, tmp_path: Path, which: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "vault.txt").write_text("the quokka vault code is 1234", encoding="utf-8")
    target = outside if which == "folder" else Path("/etc/hostname")
    if not target.exists():
        pytest.skip(f"{target} does not exist on this machine")
    source = linked_copy(their_chroma, tmp_path, target, "extra")
    with pytest.raises(InvalidInputError, match=r"holds a symbolic link \(extra\): .* own files only"):
        Workspace(Settings.from_env()).attach(str(source), "tiny", EMBEDDER, "theirs")
    assert not (data_dir / SNAPSHOT_DIR / "theirs").exists()
    copied = [p for p in data_dir.rglob("*") if p.is_file() and p.name in ("vault.txt", "hostname", "extra")]
    assert copied == []


class Usage(NamedTuple):
    total: int
    used: int
    free: int


def test_a_copy_larger_than_the_free_disk_is_refused_in_one_line(
    their_chroma: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: Usage(2**30, 2**30 - 2**20, 2**20))  # 1 MiB free
    with pytest.raises(InvalidInputError) as refused:
        Workspace(Settings.from_env()).attach(str(their_chroma), "tiny", EMBEDDER, "theirs")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"Copying '{their_chroma}' needs ") and "but the data dir has 1 MiB free" in message
    assert not (data_dir / SNAPSHOT_DIR / "theirs").exists()


def test_stale_partial_copies_are_cleared_on_the_next_attach(their_chroma: Path, data_dir: Path) -> None:
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(exited.stdout)
    snapshots = data_dir / SNAPSHOT_DIR
    of_dead = snapshots / "old" / f".partial-0123abcd-{dead}"
    of_ours_before_start = snapshots / "other" / f".partial-4567cdef-{os.getpid()}"
    of_ours_now = snapshots / "other" / f".partial-89abcdef-{os.getpid()}"  # a copy this process is making
    for partial in (of_dead, of_ours_before_start, of_ours_now):
        partial.mkdir(parents=True)
        (partial / "chroma.sqlite3").write_bytes(b"half a copy")
    long_ago = time.time() - 86_400
    os.utime(of_ours_before_start, (long_ago, long_ago))

    Workspace(Settings.from_env()).attach(str(their_chroma), "tiny", EMBEDDER, "theirs")
    assert not of_dead.exists() and not of_ours_before_start.exists()
    assert of_ours_now.exists()
    assert [p.name for p in (snapshots / "theirs").iterdir()] != []
    assert not list((snapshots / "theirs").glob(".partial-*"))


def test_the_corpus_page_reads_only_allowed_hosts_and_folders(
    their_chroma: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere" / "chroma"
    shutil.copytree(their_chroma, outside)
    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", str(their_chroma.parent))
    at = run_ok(page("corpus"))

    def refused(source: str) -> str:
        at.text_input(key="corpus.attach_source").input(source)
        at.text_input(key="corpus.attach_collection").input("tiny")
        submit(at, "Attach read-only")
        (error,) = [unescaped(e.value).replace("\u200b", "") for e in at.error]
        assert "\n" not in error
        return error

    assert refused("http://chroma.internal:8000").startswith("This server may not connect to 'chroma.internal'")
    assert "RERANKLENS_ATTACH_HOSTS" in refused("https://10.0.0.7:8443")
    assert "is outside the folders this server may ingest from" in refused(str(outside))
    assert at.text_input(key="corpus.attach_source").value == str(outside)  # what the person typed is kept
    assert Workspace(Settings.from_env()).attachments.all() == {}
    assert not (data_dir / SNAPSHOT_DIR).exists()  # nothing was copied

    monkeypatch.delenv("RERANKLENS_INGEST_ROOTS")
    get_workspace.clear()  # the app reads its settings once per process
    at = run_ok(page("corpus"))
    assert refused(str(their_chroma)).startswith("Attaching a Chroma directory on the server is off")


def test_sources_are_shown_to_admins_only(their_chroma: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = Workspace(Settings.from_env())
    workspace.attach(str(their_chroma), "tiny", EMBEDDER, "theirs")
    workspace.traces.import_traces("support-bot", read_jsonl(FIXTURE), str(FIXTURE))

    def tables(at: object) -> str:
        return "\n".join(d.value.to_string() + " ".join(d.value.columns) for d in at.dataframe)  # type: ignore[attr-defined]

    admin = tables(run_ok(page("corpus")))  # without sign-in the local user is the admin
    assert str(their_chroma) in admin and str(FIXTURE) in admin

    monkeypatch.delenv("RERANKLENS_ADMINS", raising=False)
    monkeypatch.setattr("components.shared.identity.signin_configured", lambda: True)
    monkeypatch.setattr("components.shared.frame.sign_in_gate", lambda _settings: None)  # eve has signed in
    monkeypatch.setattr("components.shared.identity.current_user", lambda: "eve@team.org")
    viewer = tables(run_ok(page("corpus")))
    assert "theirs" in viewer and "support-bot" in viewer  # the tables are there,
    assert str(their_chroma) not in viewer and str(FIXTURE) not in viewer  # their sources are not
    assert str(FIXTURE.parent) not in viewer and str(their_chroma.parent) not in viewer


def test_the_corpus_page_imports_trace_files_only_inside_the_roots(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, outside = tmp_path / "logs", tmp_path / "private"
    root.mkdir()
    outside.mkdir()
    secret = outside / "traces.jsonl"
    shutil.copy(FIXTURE, secret)
    (root / "escape.jsonl").symlink_to(secret)  # inside the root, pointing out of it
    shutil.copy(FIXTURE, root / "support_bot.jsonl")

    def imported(path: Path, name: str) -> tuple[list[str], list[str]]:
        at.text_input(key="corpus.trace_path").input(str(path))
        at.text_input(key="corpus.trace_name").input(name)
        submit(at, "Import traces")
        return [unescaped(e.value) for e in at.error], [unescaped(s.value) for s in at.success]

    at = run_ok(page("corpus"))
    (error,), _ = imported(secret, "off")
    assert error.startswith("Importing a trace file on the server is off") and "RERANKLENS_INGEST_ROOTS" in error

    monkeypatch.setenv("RERANKLENS_INGEST_ROOTS", str(root))
    get_workspace.clear()  # the app reads its settings once per process
    at = run_ok(page("corpus"))
    (error,), _ = imported(secret, "outside")
    assert "is outside the folders this server may ingest from" in error
    (error,), _ = imported(root / "escape.jsonl", "escape")
    assert "(through a symbolic link or '..')" in error and str(outside) not in error
    assert Workspace(Settings.from_env()).traces.names() == []
    errors, (success,) = imported(root / "support_bot.jsonl", "inside")
    assert not errors and "Trace set 'inside': 2 traces" in success
