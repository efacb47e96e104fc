"""The CLI run in-process on the test's data dir, for tests that bring their own collections. Test modules load
it with ``pytest_plugins = ["fixtures_cli"]``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reranklens.cli.main import main
from reranklens.config import Settings

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*argv) -> (exit code, stdout, stderr)`` of ``reranklens ...`` in ``settings``' data dir, which is
    marked as having had its demo (no first-run demo ingest)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ".demo-ingested").touch()

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
