"""``reranklens ingest|collections|delete|demo``: build, list and remove collections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_ERROR, EXIT_OK, ProgressBar, count, print_report
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.types import IngestReport

if TYPE_CHECKING:
    from reranklens.workspace import Workspace


def add_ingest_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ingest`` on the top-level subparsers."""
    ingest = commands.add_parser("ingest", help="add files, folders or BEIR collections to a collection")
    ingest.add_argument("paths", nargs="+", type=Path, help=".md/.txt/.html/.pdf files, folders, BEIR folders")
    ingest.add_argument("--collection", "-c", required=True)
    ingest.add_argument("--embedder", help="sentence-transformers name or path, or openai:text-embedding-3-small")
    ingest.add_argument("--chunk-tokens", type=int, help="chunk size in word-piece tokens (default 200)")
    ingest.add_argument("--chunk-overlap", type=int, help="overlap between chunks in tokens (default 40)")
    ingest.add_argument("--rebuild", action="store_true", help="start the collection over")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(handler=cmd_ingest)


def add_listing_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``collections`` and ``delete`` on the top-level subparsers."""
    listing = commands.add_parser("collections", help="list collections")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_collections)

    delete = commands.add_parser("delete", help="delete a collection and its vectors")
    delete.add_argument("collection")
    delete.set_defaults(handler=cmd_delete)


def add_demo_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo`` on the top-level subparsers."""
    demo = commands.add_parser("demo", help="(re)ingest the bundled Acme Cloud demo collection")
    demo.set_defaults(handler=cmd_demo)


def cmd_ingest(workspace: Workspace, args: argparse.Namespace) -> int:
    settings = workspace.settings
    options = ChunkingOptions(
        args.chunk_tokens if args.chunk_tokens is not None else settings.chunk_tokens,
        args.chunk_overlap if args.chunk_overlap is not None else settings.chunk_overlap,
    )
    with ProgressBar(args.json) as bar:
        report = workspace.ingest(args.paths, args.collection, args.embedder, options, args.rebuild, bar.update)
    if args.json:
        print(json.dumps(_report_dict(report), indent=2))
    else:
        print_report(report)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return EXIT_ERROR if report.skipped else EXIT_OK


def cmd_collections(workspace: Workspace, args: argparse.Namespace) -> int:
    infos = workspace.collections()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return EXIT_OK
    if not infos:
        print(
            "No collections yet: reranklens demo (the bundled Acme Cloud demo), reranklens ingest PATH "
            "--collection NAME, or reranklens attach CHROMA_DIR --collection NAME --embedder MODEL"
        )
    for info in infos:
        docs = f"{count(info.doc_count, 'doc')}, " if info.doc_count is not None else ""
        attached = f"  attached read-only from {info.attached_from}" if info.attached_from else ""
        print(f"{info.name:<24} {docs}{count(info.chunk_count, 'chunk')}  embedder={info.embedder}{attached}")
    return EXIT_OK


def cmd_delete(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.delete_collection(args.collection)
    print(f"Deleted collection '{args.collection}'.")
    return EXIT_OK


def cmd_demo(workspace: Workspace, args: argparse.Namespace) -> int:
    with ProgressBar(False) as bar:
        report = workspace.ingest_demo(bar.update)
    print_report(report)
    return EXIT_OK


def _report_dict(report: IngestReport) -> dict[str, Any]:
    data = dict(report.__dict__)
    data["skipped"] = list(report.skipped)
    data["chunks_per_second"] = round(report.chunks_per_second, 1)
    return data
