"""Commands that need no model training or torch reranking never import torch or sentence-transformers;
a command imports no other command's module, and ``query`` not the Hugging Face Hub client.

Each command runs in a fresh interpreter (as a user's shell would start it) through a small wrapper
that runs the CLI and then prints which modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reranklens.cli.main import COMMANDS, RERANK_BACKENDS, build_parser
from reranklens.rerank.rerankers import AUTO_BACKEND, BACKENDS
from reranklens.workspace import Workspace

HEAVY = ("torch", "sentence_transformers")
WRAPPER = (
    "import json, sys\n"
    "from reranklens.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "print('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    "sys.exit(code)\n"
)
COMMAND_MODULES = {target.partition(":")[0] for target in COMMANDS.values()}
RUNS = [
    ["collections"],
    ["query", "how do I reset my password", "-c", "demo", "-n", "5"],
    ["query", "how do I reset my password", "-c", "demo", "-n", "5", "--mode", "hybrid", "--json"],
    ["query", "how do I reset my password", "-c", "demo", "-n", "5", "--mode", "bm25"],
    ["eval", "-c", "demo", "-g", "demo", "--pipelines", "vector,bm25,hybrid", "-n", "10"],
    ["golden", "list"],
    ["golden", "show", "demo"],
    ["golden", "agreement", "demo", "--json"],
    ["models", "list"],
]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the demo collection and golden set (ingested in this process)."""
    from reranklens.config import Settings

    data_dir = tmp_path_factory.mktemp("imports") / "store"
    Workspace(Settings.from_env(data_dir=data_dir)).ingest_demo()
    return data_dir


def run_cli(args: list[str], data_dir: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
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
    return done, set(json.loads(lines[-1].removeprefix("MODULES=")))


@pytest.mark.parametrize("args", RUNS, ids=lambda a: " ".join(a[:2] + a[-2:]))
def test_command_never_imports_torch(args: list[str], demo_dir: Path) -> None:
    done, modules = run_cli(args, demo_dir)
    assert done.returncode == 0, done.stderr
    heavy = sorted(modules & set(HEAVY))
    assert heavy == [], f"{' '.join(args)} imported {heavy}"


def test_the_wrapper_does_see_torch_when_a_command_needs_it(demo_dir: Path) -> None:
    """The check above could pass vacuously; the old path (torch embedder) shows it does not."""
    done, modules = run_cli(RUNS[1], demo_dir, RERANKLENS_EMBED_BACKEND="torch")
    assert done.returncode == 0, done.stderr
    assert sorted(modules & set(HEAVY)) == ["sentence_transformers", "torch"]


@pytest.mark.parametrize("args", RUNS[:4], ids=lambda a: " ".join(a[:2] + a[-2:]))
def test_a_command_imports_only_its_own_module_and_query_no_hub_client(args: list[str], demo_dir: Path) -> None:
    """``query`` and ``collections`` import their command's module alone, not ``huggingface_hub.hf_api`` (0.2 s
    of a cold start, for a lookup in the local cache that needs none of it), and not the SQL-backed stores'
    SQLAlchemy (0.3 s, for stores a plain query never opens)."""
    done, modules = run_cli(args, demo_dir)
    assert done.returncode == 0, done.stderr
    own = COMMANDS[args[0]].partition(":")[0]
    assert own in modules
    assert sorted((COMMAND_MODULES - {own}) & modules) == []
    assert "huggingface_hub.hf_api" not in modules
    assert "sqlalchemy" not in modules


def test_help_lists_every_command_and_each_command_parses_alone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    listed = capsys.readouterr().out
    for name in COMMANDS:
        assert name in listed
        parser = build_parser(name)
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])
        assert f"usage: reranklens {name}" in capsys.readouterr().out
    assert RERANK_BACKENDS == (AUTO_BACKEND, *BACKENDS)
