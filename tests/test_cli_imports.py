"""Commands that need no model training or torch reranking never import torch or sentence-transformers.

Each command runs in a fresh interpreter (as a user's shell would start it) through a small wrapper
that runs the CLI and then prints which heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reranklens.workspace import Workspace

HEAVY = ("torch", "sentence_transformers")
WRAPPER = (
    "import json, sys\n"
    "from reranklens.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    f"print('MODULES=' + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    "sys.exit(code)\n"
)
COMMANDS = [
    ["collections"],
    ["query", "how do I reset my password", "-c", "demo", "-n", "5"],
    ["query", "how do I reset my password", "-c", "demo", "-n", "5", "--mode", "hybrid", "--json"],
    ["query", "how do I reset my password", "-c", "demo", "-n", "5", "--mode", "bm25"],
    ["eval", "-c", "demo", "-g", "demo", "--pipelines", "vector,bm25,hybrid", "-n", "10"],
    ["golden", "list"],
    ["golden", "show", "demo"],
    ["models", "list"],
]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the demo collection and golden set (ingested in this process)."""
    from reranklens.config import Settings

    data_dir = tmp_path_factory.mktemp("imports") / "store"
    Workspace(Settings.from_env(data_dir=data_dir)).ingest_demo()
    return data_dir


def run_cli(args: list[str], data_dir: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    environ = os.environ | {"RERANKLENS_DATA_DIR": str(data_dir), "PYTHONPATH": str(Path(__file__).parents[1])}
    for name in ("CHROMA_HOST", "RERANKLENS_EMBED_BACKEND", "RERANKLENS_RERANK_BACKEND"):
        environ.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("MODULES=")]
    assert lines, done.stdout + done.stderr
    return done, json.loads(lines[-1].removeprefix("MODULES="))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2] + a[-2:]))
def test_command_never_imports_torch(args: list[str], demo_dir: Path) -> None:
    done, heavy = run_cli(args, demo_dir)
    assert done.returncode == 0, done.stderr
    assert heavy == [], f"{' '.join(args)} imported {heavy}"


def test_the_wrapper_does_see_torch_when_a_command_needs_it(demo_dir: Path) -> None:
    """The check above could pass vacuously; the old path (torch embedder) shows it does not."""
    done, heavy = run_cli(COMMANDS[1], demo_dir, RERANKLENS_EMBED_BACKEND="torch")
    assert done.returncode == 0, done.stderr
    assert heavy == ["sentence_transformers", "torch"]
