"""The app listens on this machine only unless its owner sets an address."""

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


def test_config_binds_to_loopback_with_a_comment() -> None:
    text = (REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["server"]["address"] == "127.0.0.1"
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("address"))
    assert lines[at - 1].startswith("#"), "every option in config.toml has a comment"


def test_plain_streamlit_run_is_not_reachable_from_the_network(tmp_path: Path) -> None:
    """``streamlit run app.py`` as the README says, with no address flag: loopback answers, the LAN does not."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    port, log = free_port(), tmp_path / "streamlit.log"
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    env |= {"RERANKLENS_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log)
        with socket.socket() as sock, pytest.raises(OSError):
            sock.settimeout(5)
            sock.connect((address, port))
    finally:
        stop_process(process)
    assert "Network URL" not in log.read_text(encoding="utf-8"), log_tail(log)
