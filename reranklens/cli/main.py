"""The ``reranklens`` command: ingest, query, list and delete collections.

Output for people goes to stdout as a table; ``--json`` prints one JSON object instead.
Errors a user can fix print one line on stderr and exit 1; nothing prints a traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reranklens.chunking import ChunkingOptions
from reranklens.cli_answer import add_answer_command
from reranklens.cli_eval import add_eval_command
from reranklens.cli_golden import add_golden_commands
from reranklens.cli_models import add_models_commands
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.explore import ExploreView, check_top_k, reranked_view
from reranklens.rerank import AUTO_BACKEND, BACKENDS
from reranklens.search import MAX_CANDIDATES, MIN_CANDIDATES
from reranklens.types import SEARCH_MODES, IngestReport, SearchResult
from reranklens.workspace import Workspace

EXIT_OK, EXIT_ERROR, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 130
TEXT_PREVIEW = 70


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
    parser.add_argument("--data-dir", type=Path, help="where stores live (default: $RERANKLENS_DATA_DIR or data/store)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    parser.add_argument(
        "--rerank-backend",
        choices=(AUTO_BACKEND, *BACKENDS),
        help="cross-encoder backend (default $RERANKLENS_RERANK_BACKEND or auto: the fastest that keeps the ranking)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="add files, folders or BEIR collections to a collection")
    ingest.add_argument("paths", nargs="+", type=Path, help=".md/.txt/.html/.pdf files, folders, BEIR folders")
    ingest.add_argument("--collection", "-c", required=True)
    ingest.add_argument("--embedder", help="sentence-transformers name or path, or openai:text-embedding-3-small")
    ingest.add_argument("--chunk-tokens", type=int, help="chunk size in word-piece tokens (default 200)")
    ingest.add_argument("--chunk-overlap", type=int, help="overlap between chunks in tokens (default 40)")
    ingest.add_argument("--rebuild", action="store_true", help="start the collection over")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(handler=cmd_ingest)

    query = commands.add_parser("query", help="search a collection")
    query.add_argument("text")
    query.add_argument("--collection", "-c", required=True)
    query.add_argument(
        "--candidates", "-n", type=int, default=50, help=f"first-stage candidates, {MIN_CANDIDATES}-{MAX_CANDIDATES}"
    )
    query.add_argument("--mode", choices=SEARCH_MODES, default="vector")
    query.add_argument("--embedder", help="must match the collection's embedder (default: the one it was built with)")
    query.add_argument("--rerank", action="store_true", help="rerank the candidates with a cross-encoder")
    query.add_argument(
        "--reranker", help="cross-encoder name or directory, or http:MODEL (default $RERANKLENS_RERANKER)"
    )
    query.add_argument("--top-k", "-k", type=int, default=3, help="top-k for entered/left status (1-10, default 3)")
    query.add_argument("--json", action="store_true", help="print one JSON object")
    query.set_defaults(handler=cmd_query)

    listing = commands.add_parser("collections", help="list collections")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_collections)

    delete = commands.add_parser("delete", help="delete a collection and its vectors")
    delete.add_argument("collection")
    delete.set_defaults(handler=cmd_delete)

    untrained = commands.add_parser(
        "make-untrained-reranker",
        help="save an UNTRAINED cross-encoder (packaged MiniLM + random head) to test mechanics offline",
    )
    untrained.add_argument("path", type=Path)
    untrained.add_argument("--seed", type=int, default=1234)
    untrained.set_defaults(handler=cmd_make_untrained)

    add_golden_commands(commands)
    add_eval_command(commands)
    add_answer_command(commands)
    add_models_commands(commands)

    demo = commands.add_parser("demo", help="(re)ingest the bundled Acme Cloud demo collection")
    demo.set_defaults(handler=cmd_demo)
    return parser


def cmd_ingest(workspace: Workspace, args: argparse.Namespace) -> int:
    settings = workspace.settings
    options = ChunkingOptions(
        args.chunk_tokens if args.chunk_tokens is not None else settings.chunk_tokens,
        args.chunk_overlap if args.chunk_overlap is not None else settings.chunk_overlap,
    )
    with _ProgressBar(args.json) as bar:
        report = workspace.ingest(args.paths, args.collection, args.embedder, options, args.rebuild, bar.update)
    if args.json:
        print(json.dumps(_report_dict(report), indent=2))
    else:
        _print_report(report)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return EXIT_ERROR if report.skipped else EXIT_OK


def cmd_query(workspace: Workspace, args: argparse.Namespace) -> int:
    _ensure_demo(workspace)
    check_top_k(args.top_k)
    result = workspace.search(args.text, args.collection, args.mode, args.candidates, args.embedder)
    view = reranked_view(result, workspace.rerank(result, args.reranker), args.top_k) if args.rerank else None
    if args.json:
        print(json.dumps(result_dict(result, view), indent=2, ensure_ascii=False))
    else:
        _print_result(result, view)
    return EXIT_OK


def cmd_collections(workspace: Workspace, args: argparse.Namespace) -> int:
    _ensure_demo(workspace)
    infos = workspace.collections()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return EXIT_OK
    if not infos:
        print("No collections yet: reranklens ingest PATH --collection NAME")
    for info in infos:
        docs = f"{info.doc_count} docs, " if info.doc_count is not None else ""
        print(f"{info.name:<24} {docs}{info.chunk_count} chunks  embedder={info.embedder}")
    return EXIT_OK


def cmd_delete(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.delete_collection(args.collection)
    print(f"Deleted collection '{args.collection}'.")
    return EXIT_OK


def cmd_make_untrained(workspace: Workspace, args: argparse.Namespace) -> int:
    from reranklens.untrained import save_untrained_cross_encoder

    path = save_untrained_cross_encoder(args.path, args.seed)
    print(f"Saved an untrained cross-encoder to {path}: its scores are meaningless (mechanics only).")
    print(f"Use it with: RERANKLENS_RERANKER={path.resolve()}")
    return EXIT_OK


def cmd_demo(workspace: Workspace, args: argparse.Namespace) -> int:
    with _ProgressBar(False) as bar:
        report = workspace.ingest_demo(bar.update)
    _print_report(report)
    return EXIT_OK


def result_dict(result: SearchResult, view: ExploreView | None = None) -> dict[str, Any]:
    """The ``--json`` shape of a search, candidates in first-stage order. With a reranked ``view``,
    each candidate gains ``rerank_rank``, ``rerank_score`` (raw), ``rerank_probability`` (0-1),
    ``shift``, ``status`` and ``tokens_seen``, and ``timings_ms`` gains ``rerank`` (the total) and its
    parts ``rerank_tokenize``, ``rerank_model`` and ``rerank_post``."""
    rows = {row.chunk.chunk_id: row for row in view.rows} if view else {}
    candidates = []
    for hit in result.hits:
        candidate: dict[str, Any] = {
            "chunk_id": hit.chunk.chunk_id,
            "doc_id": hit.chunk.doc_id,
            "text": hit.chunk.text,
            "source": hit.chunk.source,
            "heading": hit.chunk.heading,
            "rank": hit.rank,
            "score": round(hit.score, 6),
        }
        row = rows.get(hit.chunk.chunk_id)
        if row is not None:
            candidate.update(
                rerank_rank=row.right_rank,
                rerank_score=None if row.right_score is None else round(row.right_score, 6),
                rerank_probability=None if row.probability is None else round(row.probability, 6),
                shift=row.shift,
                status=row.status,
                tokens_seen=row.tokens_seen,
                tokens_total=row.tokens_total,
            )
        candidates.append(candidate)
    timings = view.timings_ms if view else result.timings_ms
    data: dict[str, Any] = {"query": result.query, "collection": result.collection, "mode": result.mode}
    if view is not None and view.rerank is not None:
        data["reranker"] = {"name": view.rerank.reranker, "score_kind": view.rerank.score_kind, "top_k": view.k}
        data["warnings"] = list(view.alarms)
    data["candidates"] = candidates
    data["timings_ms"] = {stage: round(ms, 2) for stage, ms in timings.items()}
    return data


def _ensure_demo(workspace: Workspace) -> None:
    if workspace.demo_pending():
        print("First run: ingesting the bundled Acme Cloud demo into collection 'demo'...", file=sys.stderr)
        with _ProgressBar(False) as bar:
            workspace.ingest_demo(bar.update)


def _print_result(result: SearchResult, view: ExploreView | None) -> None:
    print(f"{result.mode} search in '{result.collection}' for: {result.query}")
    if view is None:
        print(f"{'rank':>4}  {'score':>8}  {'doc_id':<28} text")
        for hit in result.hits:
            print(f"{hit.rank:>4}  {hit.score:>8.4f}  {hit.chunk.doc_id[:28]:<28} {_preview(hit.chunk.text)}")
        timings = result.timings_ms
    else:
        for alarm in view.alarms:
            print(f"warning: {alarm}", file=sys.stderr)
        print(f"{'rerank':>6} {'vector':>6} {'shift':>5}  {'score':>8}  {'status':<16} {'doc_id':<28} text")
        for row in view.right_rows():
            status = row.status.replace("_top_k", f" top-{view.k}").replace("_", " ") if row.status != "outside" else ""
            shift = "" if row.shift is None else f"{row.shift:+d}"
            print(
                f"{row.right_rank:>6} {row.left_rank:>6} {shift:>5}  {row.right_score or 0:>8.4f}  {status:<16} "
                f"{row.chunk.doc_id[:28]:<28} {_preview(row.chunk.text)}"
            )
        timings = view.timings_ms
    summary = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in timings.items())
    print(f"{len(result.hits)} candidates; {summary}")


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1] + "…"


def _report_dict(report: IngestReport) -> dict[str, Any]:
    data = dict(report.__dict__)
    data["skipped"] = list(report.skipped)
    data["chunks_per_second"] = round(report.chunks_per_second, 1)
    return data


def _print_report(report: IngestReport) -> None:
    print(
        f"Collection '{report.collection}': {report.documents} documents, {report.chunks_total} chunks "
        f"({report.chunks_added} added, {report.chunks_removed} removed) in {report.seconds:.1f} s "
        f"({report.chunks_per_second:.0f} chunks/s)."
    )
    if report.golden_set:
        print(
            f"Golden set '{report.golden_set}': {report.golden_queries} queries, "
            f"{report.golden_judgements} judgements imported."
        )


class _ProgressBar:
    """A tqdm bar on stderr (chunks and chunks/s), silent when output must stay machine-readable."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent or not sys.stderr.isatty() and os.environ.get("RERANKLENS_PROGRESS") != "1"
        self.bar: Any = None

    def __enter__(self) -> _ProgressBar:
        return self

    def update(self, done: int, total: int) -> None:
        if self.silent:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


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
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


if __name__ == "__main__":
    raise SystemExit(main())
