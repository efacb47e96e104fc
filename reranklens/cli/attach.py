"""``reranklens attach|detach``: search another application's Chroma collection, read-only."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from reranklens.access.audit import AuditLog, attach_detail
from reranklens.cli.common import EXIT_OK
from reranklens.retrieve.conventions import MetadataKeys

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

CLI_USER = "local"  # the audit's "who" for the command line: the server's own user, as without sign-in


def add_attach_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``attach`` and ``detach`` on the top-level subparsers."""
    attach = commands.add_parser(
        "attach",
        help="attach an existing Chroma collection (directory or http://HOST:PORT) read-only",
        description="Attach another application's Chroma collection without re-ingesting it. RerankLens never "
        "writes to it: a directory is searched through a snapshot copy, a server only read.",
    )
    attach.add_argument("source", help="a Chroma persistent directory, or http://HOST:PORT of a `chroma run` server")
    attach.add_argument("--collection", required=True, help="the collection's name in that store")
    attach.add_argument("--name", help="the name it gets here (default: the same)")
    attach.add_argument(
        "--embedder",
        required=True,
        help="the model the collection was built with: a sentence-transformers name or directory, openai:MODEL, "
        "or chroma:default",
    )
    attach.add_argument("--id-key", help="metadata key holding the document id (default: detected)")
    attach.add_argument("--source-key", help="metadata key holding the source (default: detected)")
    attach.add_argument("--heading-key", help="metadata key holding the heading (default: detected)")
    attach.add_argument("--json", action="store_true", help="print one JSON object")
    attach.set_defaults(handler=cmd_attach)

    detach = commands.add_parser("detach", help="forget an attached collection (its store is not touched)")
    detach.add_argument("name")
    detach.set_defaults(handler=cmd_detach)


def cmd_attach(workspace: Workspace, args: argparse.Namespace) -> int:
    keys = MetadataKeys(args.id_key or None, args.source_key or None, args.heading_key or None)
    report = workspace.attach(args.source, args.collection, args.embedder, args.name, keys)
    attachment = report.attachment
    AuditLog(workspace.settings.data_dir).record(
        CLI_USER, "attach", attachment.name, attach_detail(attachment.collection, report.count)
    )
    if args.json:
        data = {
            **attachment.to_json(),
            "count": report.count,
            "probe": {"self_nearest": report.probe_hits, "probed": report.probe_total},
            "warnings": list(report.warnings),
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(
            f"Attached '{attachment.collection}' from {attachment.source} as '{attachment.name}' (read-only): "
            f"{report.count} chunks, {attachment.dimension or '?'}-dim vectors ({attachment.space}), "
            f"metadata convention {attachment.convention}; probe: {report.probe_hits} of {report.probe_total} "
            "stored documents are their own nearest neighbour."
        )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_detach(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.detach(args.name)
    AuditLog(workspace.settings.data_dir).record(CLI_USER, "detach", args.name)
    print(f"Detached '{args.name}' (the attached store itself was not touched).")
    return EXIT_OK
