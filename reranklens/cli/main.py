"""The ``reranklens`` command: builds the parser from one module per command group and runs a command.

Output for people goes to stdout as a table; ``--json`` prints one JSON object instead.
Errors a user can fix print one line on stderr and exit 1; nothing prints a traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import reranklens
from reranklens.cli.answer import add_answer_command
from reranklens.cli.attach import add_attach_commands
from reranklens.cli.common import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from reranklens.cli.corpus import add_demo_command, add_ingest_command, add_listing_commands
from reranklens.cli.evaluate import add_eval_command
from reranklens.cli.golden import add_golden_commands
from reranklens.cli.models import add_models_commands, add_untrained_command
from reranklens.cli.query import add_query_command
from reranklens.cli.traces import add_traces_commands
from reranklens.cli.ui import add_ui_command
from reranklens.config import DEFAULT_DATA_DIR, Settings
from reranklens.errors import RerankLensError
from reranklens.rerank.rerankers import AUTO_BACKEND, BACKENDS
from reranklens.workspace import Workspace


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_libraries(args.debug)
    try:
        workspace = Workspace(Settings.from_env(data_dir=args.data_dir, rerank_backend=args.rerank_backend))
        return int(args.handler(workspace, args) or EXIT_OK)
    except RerankLensError as exc:
        print("error: " + " ".join(str(exc).splitlines()), file=sys.stderr)  # one line, whatever it quotes
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and cut short: not an error. Silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks for users
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_BUG


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reranklens", description="RerankLens: ingest, search, rerank, label and evaluate."
    )
    parser.add_argument("--version", action="version", version=f"reranklens {reranklens.__version__}")
    parser.add_argument(
        "--data-dir", type=Path, help=f"where stores live (default: $RERANKLENS_DATA_DIR or {DEFAULT_DATA_DIR})"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    parser.add_argument(
        "--rerank-backend",
        choices=(AUTO_BACKEND, *BACKENDS),
        help="cross-encoder backend (default $RERANKLENS_RERANK_BACKEND or auto: the fastest that keeps the ranking)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    add_ingest_command(commands)
    add_query_command(commands)
    add_listing_commands(commands)
    add_untrained_command(commands)
    add_golden_commands(commands)
    add_eval_command(commands)
    add_answer_command(commands)
    add_models_commands(commands)
    add_demo_command(commands)
    add_attach_commands(commands)
    add_traces_commands(commands)
    add_ui_command(commands)
    return parser


def _quiet_libraries(debug: bool) -> None:
    """Library chatter (download bars, DEBUG lines some libraries force on) hides our one-line output."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    level = logging.DEBUG if debug else logging.WARNING
    logging.getLogger().setLevel(level)
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    if not debug:
        for name in ("chromadb", "sentence_transformers", "transformers", "httpx"):
            logging.getLogger(name).setLevel(logging.ERROR)
        # Through the environment, not transformers' API: importing transformers costs ~1 s, and
        # most commands (query, collections, golden, eval) never load it.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()


if __name__ == "__main__":
    raise SystemExit(main())
