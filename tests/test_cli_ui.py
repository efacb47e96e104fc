"""``reranklens ui``: the app's own Streamlit config as flags, one-line refusals, and the note a non-loopback
host prints. (The installed wheel served from an empty folder is in test_packaging.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from app_server import REPO, free_port, log_tail, outward_address, stop_process, wait_until_healthy
from page_env import FOREIGN_ENV

from reranklens.cli.ui import is_loopback, streamlit_command

CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def ui_env(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in (*FOREIGN_ENV, "DISPLAY")}
    return env | {"PYTHONPATH": str(REPO), "RERANKLENS_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}


def run_ui(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reranklens", "ui", *args],
        cwd=tmp_path,
        env=ui_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_option_of_the_app_config_is_passed() -> None:
    """Streamlit reads .streamlit/config.toml from the working folder only: each option travels as a flag."""
    command = streamlit_command(None, None)
    assert command[1:6] == ["-P", "-m", "streamlit", "run", str(REPO / "app.py")]
    flags = command[6:]
    for section, options in CONFIG.items():
        for name, value in options.items():
            spelled = str(value).lower() if isinstance(value, bool) else str(value)
            assert f"--{section}.{name}={spelled}" in flags
    assert "--server.address=127.0.0.1" in flags and "--browser.gatherUsageStats=false" in flags
    assert not any(flag.startswith("--server.port") for flag in flags), "no port: Streamlit's 8501 or the next free"


def test_host_and_port_replace_the_config_values() -> None:
    flags = streamlit_command("0.0.0.0", 9123)[6:]
    assert "--server.address=0.0.0.0" in flags and "--server.address=127.0.0.1" not in flags
    assert "--server.port=9123" in flags
    assert "--server.address=::1" in streamlit_command(" [::1] ", None)[6:]
    assert "--server.maxUploadSize=20" in flags  # the rest stays


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.1.1", True), ("localhost", True), ("::1", True), ("[::1]", True)]
    + [("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("rerank.example.org", False)],
)
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "error: --port must be between 1 and 65535, got 70000."),
        (["--host", " "], "error: --host must not be empty"),
        # TEST-NET-1: an address no machine of ours has; Streamlit would print a traceback for it.
        (["--host", "192.0.2.1", "--port", "8765"], "error: Cannot listen on 192.0.2.1:8765: "),
    ],
)
def test_bad_host_or_port_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_ui(tmp_path, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_ui(tmp_path, "--port", str(port))
    assert done.returncode == 1
    assert done.stderr == f"error: Cannot listen on 127.0.0.1:{port}: the port is in use: pick another with --port.\n"


@pytest.mark.slow
def test_non_loopback_host_prints_the_reminder_then_serves(tmp_path: Path) -> None:
    """Bound to this machine's own LAN address (not every interface), so the test exposes as little as it can."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    port, log = free_port(), tmp_path / "ui.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "reranklens", "ui", "--host", address, "--port", str(port)],
            cwd=tmp_path,
            env=ui_env(tmp_path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(process, f"http://{address}:{port}", log)
    finally:
        stop_process(process)
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines[0].startswith(f"note: listening on {address} port {port}: anyone who reaches it can use every page")
    assert "'Running it for a team'" in lines[0], log_tail(log)
    assert sum(line.startswith("note:") for line in lines) == 1


@pytest.mark.slow
def test_loopback_host_prints_no_reminder(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "ui.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "reranklens", "--data-dir", str(tmp_path / "top"), "ui", "--port", str(port)],
            cwd=tmp_path,
            env=ui_env(tmp_path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log)
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    finally:
        stop_process(process)
    assert "note:" not in log.read_text(encoding="utf-8"), log_tail(log)
    # `reranklens --data-dir D ui` (the option before the command) reaches the app as well as `ui --data-dir D`.
    assert f"RERANKLENS_DATA_DIR={tmp_path / 'top'}".encode() in environ
