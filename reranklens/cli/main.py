"""The ``reranklens`` command: finds the command in ``COMMANDS``, imports its module, and runs it.

Only the module of the command being run is imported (with what it needs), so a cold ``query`` pays
for no other command's imports; ``reranklens --help`` (or no command) loads them all to list them.

Output for people goes to stdout as a table; ``--json`` prints one JSON object instead.
Errors a user can fix print one line on stderr and exit 1; nothing prints a traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import reranklens
from reranklens.cli.common import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from reranklens.config import DEFAULT_DATA_DIR, Settings
from reranklens.errors import RerankLensError

# Command name -> "module:function" that registers it on the top-level subparsers (a function may register
# its siblings too: they share the module). The order is the order of ``reranklens --help``.
COMMANDS: dict[str, str] = {
    "ingest": "reranklens.cli.corpus:add_ingest_command",
    "query": "reranklens.cli.query:add_query_command",
    "collections": "reranklens.cli.corpus:add_listing_commands",
    "delete": "reranklens.cli.corpus:add_listing_commands",
    "make-untrained-reranker": "reranklens.cli.models:add_untrained_command",
    "golden": "reranklens.cli.golden:add_golden_commands",
    "eval": "reranklens.cli.evaluate:add_eval_command",
    "answer": "reranklens.cli.answer:add_answer_command",
    "models": "reranklens.cli.models:add_models_commands",
    "demo": "reranklens.cli.corpus:add_demo_command",
    "attach": "reranklens.cli.attach:add_attach_commands",
    "detach": "reranklens.cli.attach:add_attach_commands",
    "traces": "reranklens.cli.traces:add_traces_commands",
    "map": "reranklens.cli.map:add_map_command",
    "connect": "reranklens.cli.connect:add_connect_commands",
    "connections": "reranklens.cli.connect:add_connect_commands",
    "disconnect": "reranklens.cli.connect:add_connect_commands",
    "serve-retriever": "reranklens.cli.connect:add_connect_commands",
    "ui": "reranklens.cli.ui:add_ui_command",
    "db": "reranklens.cli.db:add_db_commands",
}
# Mirrors reranklens.rerank.rerankers.AUTO_BACKEND and BACKENDS (a test keeps them equal): importing the
# rerankers module only to list the choices would cost every command its imports.
RERANK_BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
    args = parser.parse_args(argv)
    _quiet_libraries(args.debug)
    try:
        from reranklens.workspace import Workspace

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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with ``command`` registered, or every command when ``command`` is None or unknown."""
    parser = argparse.ArgumentParser(
        prog="reranklens", description="RerankLens: ingest, search, rerank, label and evaluate."
    )
    parser.add_argument("--version", action="version", version=f"reranklens {reranklens.__version__}")
    _add_global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    wanted = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for target in wanted:
        _registration(target)(commands)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` after the global options, or None (none given, or they do not parse:
    the full parser then says what is wrong)."""
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    _add_global_options(pre)
    pre.add_argument("command", nargs="?")
    try:
        known, _ = pre.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    return known.command


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help=f"where stores live (default: $RERANKLENS_DATA_DIR or {DEFAULT_DATA_DIR})"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    parser.add_argument(
        "--rerank-backend",
        choices=RERANK_BACKENDS,
        help="cross-encoder backend (default $RERANKLENS_RERANK_BACKEND or auto: the fastest that keeps the ranking)",
    )


def _registration(target: str) -> Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


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
