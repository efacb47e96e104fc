"""Under CI=true a test that lacks ../shared or Chromium fails instead of skipping (conftest.missing_environment).

Each case runs a tiny test file in a fresh pytest process, as CI would, and reads its outcome.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TINY_TEST = """
from pathlib import Path

import app_server
import conftest


def test_needs_shared(monkeypatch):
    monkeypatch.setattr(conftest, "SHARED_COLLECTIONS", Path("/nonexistent/shared/data/collections"))
    conftest.shared_collection("cranfield")


def test_needs_chromium(monkeypatch):
    monkeypatch.setattr(app_server, "CHROMIUM", Path("/nonexistent/chromium"))
    app_server.skip_without_chromium()


def test_other_skips_stay_skips():
    import pytest

    pytest.skip("an ordinary skip")
"""


def run_tiny(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TINY_TEST, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), str(TESTS.parent), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", "test_tiny.py"]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_missing_shared_and_chromium_fail_under_ci(tmp_path: Path) -> None:
    result = run_tiny(tmp_path, "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed, 1 skipped" in result.stdout, result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2, result.stdout
    assert any("test_needs_shared" in line and "../shared is absent" in line for line in failed), failed
    assert any("test_needs_chromium" in line and "Chromium" in line for line in failed), failed
    assert all("CI=true, so this is a failure, not a skip" in line for line in failed), failed


@pytest.mark.parametrize("ci", [None, "false"])
def test_they_skip_outside_ci(tmp_path: Path, ci: str | None) -> None:
    result = run_tiny(tmp_path, ci)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 skipped" in result.stdout, result.stdout
    assert "../shared is absent" in result.stdout and "Chromium" in result.stdout
