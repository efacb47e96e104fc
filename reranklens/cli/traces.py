"""``reranklens traces import|list|show|delete``: logged retrievals of another application, replayed.

``import`` streams the file (or pulls the spans of a project from a running Phoenix with
``--from-phoenix URL --project P``); malformed lines are skipped and named ``file:line`` on stderr, and the
command exits 1 when it skipped any (the rest is imported). Duplicate trace ids refuse the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_ERROR, EXIT_OK
from reranklens.errors import InvalidInputError, display_path
from reranklens.retrieve.traces import NO_TEXT, TRACE_FORMATS, ParsedLine, TraceSetInfo, read_jsonl

if TYPE_CHECKING:
    from collections.abc import Iterator

    from reranklens.workspace import Workspace

SHOW_LIMIT = 20
TEXT_PREVIEW = 70


def add_traces_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``traces`` and its subcommands on the top-level subparsers."""
    traces = commands.add_parser("traces", help="import and inspect logged retrievals (JSONL or OpenInference)")
    sub = traces.add_subparsers(dest="traces_command", required=True)

    load = sub.add_parser("import", help="import a trace file, or a Phoenix project's spans, as a trace set")
    load.add_argument("file", type=Path, nargs="?", help="the trace file (or give --from-phoenix)")
    load.add_argument("--name", required=True, help="the trace set's name")
    load.add_argument("--format", choices=TRACE_FORMATS, help="jsonl (default, see README) or openinference spans")
    load.add_argument(
        "--from-phoenix",
        metavar="URL",
        help="pull OpenInference spans from a running Phoenix, e.g. http://127.0.0.1:6006",
    )
    load.add_argument("--project", help="the Phoenix project to pull (with --from-phoenix)")
    load.add_argument("--json", action="store_true", help="print the report as JSON")
    load.set_defaults(handler=cmd_import)

    listing = sub.add_parser("list", help="list trace sets")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)

    show = sub.add_parser("show", help="a trace set's traces (the first --limit)")
    show.add_argument("name")
    show.add_argument("--limit", type=int, default=SHOW_LIMIT, help=f"traces to show (default {SHOW_LIMIT})")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)

    delete = sub.add_parser("delete", help="delete a trace set")
    delete.add_argument("name")
    delete.set_defaults(handler=cmd_delete)


def parsed_lines(path: Path, format: str) -> Iterator[ParsedLine]:
    if format == "openinference":
        from reranklens.retrieve.openinference import read_openinference

        return read_openinference(path)
    return read_jsonl(path)


def cmd_import(workspace: Workspace, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.from_phoenix:
        if args.file is not None:
            raise InvalidInputError("Give a trace FILE or --from-phoenix URL, not both.")
        if args.format:
            raise InvalidInputError("--format is for a trace FILE: spans pulled from Phoenix are OpenInference.")
        from reranklens.retrieve.phoenix import phoenix_source, pull_phoenix

        records = pull_phoenix(args.from_phoenix, args.project or "", workspace.settings)
        source = phoenix_source(args.from_phoenix, args.project)
        report = workspace.traces.import_traces(args.name, records, source, "openinference")
    else:
        if args.project:
            raise InvalidInputError("--project goes with --from-phoenix URL: the Phoenix project to pull.")
        if args.file is None:
            raise InvalidInputError("Give a trace FILE, or --from-phoenix URL --project NAME to pull from Phoenix.")
        path: Path = args.file
        if not path.is_file():
            raise InvalidInputError(f"{display_path(path)}: no such file: give the path of a .jsonl trace file.")
        format = args.format or "jsonl"
        report = workspace.traces.import_traces(args.name, parsed_lines(path, format), str(path), format)
    info = report.info
    if args.json:
        data = {**_info_dict(info), "skipped": list(report.skipped), "skipped_count": report.skipped_count}
        data["seconds"] = round(time.perf_counter() - started, 3)
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        no_text = f", {info.no_text} without text ({NO_TEXT})" if info.no_text else ""
        print(
            f"Trace set '{info.name}': {info.traces} traces, {info.candidates} candidates{no_text} imported "
            f"in {time.perf_counter() - started:.1f} s."
        )
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    if report.skipped_count > len(report.skipped):
        print(f"skipped: {report.skipped_count - len(report.skipped)} more lines", file=sys.stderr)
    return EXIT_ERROR if report.skipped_count else EXIT_OK


def cmd_list(workspace: Workspace, args: argparse.Namespace) -> int:
    infos = [workspace.traces.info(name) for name in workspace.traces.names()]
    if args.json:
        print(json.dumps([_info_dict(info) for info in infos], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not infos:
        print("No trace sets yet: reranklens traces import FILE --name NAME")
    for info in infos:
        print(f"{info.name:<24} {info.traces} traces, {info.candidates} candidates  ({info.format}: {info.source})")
    return EXIT_OK


def cmd_show(workspace: Workspace, args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise InvalidInputError(f"--limit must be 0 or more, got {args.limit}.")
    info = workspace.traces.info(args.name)
    traces = [workspace.traces.get(args.name, tid) for tid in workspace.traces.trace_ids(args.name, args.limit)]
    if args.json:
        print(json.dumps({**_info_dict(info), "items": [t.to_json() for t in traces]}, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"Trace set '{info.name}': {info.traces} traces from {info.source} ({info.format})")
    for trace in traces:
        print(f"\n{trace.trace_id}  {_flat(trace.query)}")
        for rank, candidate in enumerate(trace.candidates, start=1):
            score = f"{candidate.score:8.4f}" if candidate.score is not None else " " * 8
            text = _flat(candidate.text) if candidate.text is not None else f"({NO_TEXT})"
            print(f"  {rank:>3} {score}  {candidate.id[:24]:<24} {text}")
        if trace.answer:
            print(f"  answer: {_flat(trace.answer)}")
    if info.traces > len(traces):
        print(f"\n... {info.traces - len(traces)} more (--limit)")
    return EXIT_OK


def cmd_delete(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.traces.delete(args.name)
    print(f"Deleted trace set '{args.name}'.")
    return EXIT_OK


def _info_dict(info: TraceSetInfo) -> dict[str, Any]:
    return dict(info.__dict__)


def _flat(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1] + "…"
