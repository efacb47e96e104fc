"""A real PostgreSQL for the tests: Debian's ``initdb`` and ``pg_ctl`` run a throw-away cluster in a temp folder
on a free loopback port, once per session; each test that asks gets a database of its own.

``initdb`` refuses to run as root (CI runs as root), so then the cluster belongs to the package's ``postgres``
user and its programs run through ``runuser``. Without PostgreSQL installed the tests skip with the reason (and
fail under ``CI=true``, where ``.ci/run`` installs it). Test modules load these with
``pytest_plugins = ["fixtures_postgres"]``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import missing_environment

from reranklens import database

BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class PostgresServer:
    folder: Path
    port: int
    run_as: list[str]  # the command prefix that runs a program as the cluster's owner
    bin_dir: Path

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def pg_ctl(self, *args: str) -> None:
        log = self.folder / "server.log"
        command = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-l", str(log)]
        subprocess.run([*command, *args], check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "immediate", "-w")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("start", "-w", "-o", options)

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        listed = subprocess.run(["dpkg", "-L", "postgresql"], capture_output=True, text=True, check=False).stdout
        found = [line for line in listed.splitlines() if line.endswith("/bin/initdb")]
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        missing_environment("needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        missing_environment("needs the psycopg driver (pip install 'reranklens[postgres]')")
    folder = Path(tempfile.mkdtemp(prefix="reranklens-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = PostgresServer(folder, _free_port(), run_as, bin_dir)
    server.start()
    try:
        yield server
    finally:
        database.dispose()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database of its own on the session's server."""
    url = postgres_server.create_database()
    yield url
    database.dispose()
    postgres_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test's stores on SQLite files (the default) or on a PostgreSQL database of their own
    (``RERANKLENS_DATABASE_URL``); the backend's name."""
    if request.param == "postgres":
        monkeypatch.setenv(database.URL_ENV, request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv(database.URL_ENV, raising=False)
    yield str(request.param)
    database.dispose()
