"""``reranklens map``: the embedding map of one query as a self-contained HTML file (plotly.js inlined,
so it opens offline; hover text escaped as on the page)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reranklens.cli.common import EXIT_OK, ensure_demo
from reranklens.errors import InvalidInputError
from reranklens.retrieve.search import MAX_CANDIDATES, MIN_CANDIDATES
from reranklens.types import SEARCH_MODES

if TYPE_CHECKING:
    from reranklens.workspace import Workspace


def add_map_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``map`` on the top-level subparsers."""
    command = commands.add_parser("map", help="write the embedding map of a query among its candidates (HTML)")
    command.add_argument("text", help="the query")
    command.add_argument("--collection", "-c", required=True, help="the collection to search")
    command.add_argument("--out", "-o", type=Path, required=True, help="the HTML file to write")
    command.add_argument(
        "--candidates", "-n", type=int, default=50, help=f"first-stage candidates, {MIN_CANDIDATES}-{MAX_CANDIDATES}"
    )
    command.add_argument("--mode", choices=SEARCH_MODES, default="vector")
    command.add_argument("--reranker", help="the second stage (default $RERANKLENS_RERANKER; hybrid when none loads)")
    command.add_argument("--top-k", "-k", type=int, default=3, help="top-k marked before and after (1-10, default 3)")
    command.add_argument("--golden-set", "-g", help="mark the chunks this golden set grades for the query")
    command.set_defaults(handler=cmd_map)


def cmd_map(workspace: Workspace, args: argparse.Namespace) -> int:
    from reranklens.explain.charts import map_figure
    from reranklens.explain.embedding_map import embedding_map
    from reranklens.explain.rank_flow import query_grades

    if args.out.is_dir():
        raise InvalidInputError(f"--out {args.out} is a directory: give a file name such as map.html.")
    ensure_demo(workspace, args.collection)
    grades = query_grades(workspace, args.golden_set, args.text) if args.golden_set else None
    view, no_reranker = workspace.explore(
        args.text, args.collection, args.mode, args.candidates, args.top_k, args.reranker
    )
    if no_reranker:
        print(
            f"warning: no cross-encoder available, compared {view.left_title} with {view.right_title}.", file=sys.stderr
        )
    emap = embedding_map(workspace, view, grades, progress=lambda message: print(message, file=sys.stderr))
    if emap.absent:
        raise InvalidInputError(emap.absent)
    page = map_figure(emap).to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(f".{args.out.name}.partial-{os.getpid()}")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, args.out)  # never a half-written map
    candidates = len(emap.points) - len(emap.of_kind("sample")) - 1
    print(f"Map of {candidates} candidates and {len(emap.of_kind('sample'))} sampled chunks written to {args.out}")
    return EXIT_OK
