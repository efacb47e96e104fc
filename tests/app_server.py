"""The app as a user meets it: ``streamlit run app.py`` in a subprocess, and Debian's Chromium.

Shared by the browser test modules so each starts the server and the browser the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import missing_environment
from page_env import FOREIGN_ENV
from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
STARTUP_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def log_tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll ``/_stcore/health`` until it answers "ok"; fail with the log tail if the server dies or stalls."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError):
            pass  # not listening yet
        try:
            code = process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"streamlit exited with code {code} before it was healthy:\n{log_tail(log)}")
    pytest.fail(f"streamlit was not healthy after {STARTUP_S} s:\n{log_tail(log)}")


def skip_without_chromium() -> None:
    """Skip when Debian's Chromium is absent; under CI=true fail instead (conftest.missing_environment)."""
    if not CHROMIUM.is_file():
        missing_environment(f"the browser test drives Debian's Chromium at {CHROMIUM}, which is not installed")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Ask a server started by a test to exit; kill it when it has not after ``timeout_s`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_app(data_dir: Path, log: Path, **env_vars: str) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port over ``data_dir``; yields its URL, stops it after."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    env |= {"RERANKLENS_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env_vars}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, url, log)
        yield url
    finally:
        stop_process(process)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
