"""``reranklens golden ...``: list, show, import, export and delete golden sets, and agreement between labelers.

These commands touch only the golden-set SQLite file of the data dir: they load no model and do
not ingest the demo. Errors are ``RerankLensError``s, which ``cli.main`` prints as one line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_OK, count
from reranklens.golden.formats import FORMATS, export_set, golden_records, import_set, topics_path
from reranklens.golden.store import GRADE_LABELS, LEVELS

if TYPE_CHECKING:
    from reranklens.workspace import Workspace


def add_golden_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``golden list|show|import|export|delete|agreement`` on the top-level subparsers."""
    golden = commands.add_parser("golden", help="list, show, import, export and delete golden sets; agreement")
    actions = golden.add_subparsers(dest="golden_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="golden sets with their query and judgement counts")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=cmd_golden_list)

    show = actions.add_parser("show", help="a golden set's queries and judgements")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=cmd_golden_show)

    imports = actions.add_parser("import", help="create or replace a golden set from a file or BEIR folder")
    imports.add_argument("path", type=Path, help="BEIR folder, TREC qrels, .jsonl or .csv")
    imports.add_argument("--name", required=True, help="the golden set to create or replace")
    imports.add_argument("--format", choices=FORMATS, help="default: guessed (folder: beir, .jsonl, .csv, else trec)")
    imports.add_argument("--who", default="", help="the labeler of jsonl/csv judgements that name none")
    imports.set_defaults(handler=cmd_golden_import)

    export = actions.add_parser("export", help="write a golden set as BEIR, TREC, JSON Lines or CSV")
    export.add_argument("name")
    export.add_argument("--format", choices=FORMATS, required=True)
    export.add_argument("--out", type=Path, required=True, help="a folder for beir, a file for the others")
    export.set_defaults(handler=cmd_golden_export)

    delete = actions.add_parser("delete", help="delete a golden set and its judgements")
    delete.add_argument("name")
    delete.set_defaults(handler=cmd_golden_delete)

    agreement = actions.add_parser(
        "agreement", help="agreement between the people who labelled a set (exact, within one, kappa, alpha)"
    )
    agreement.add_argument("name")
    agreement.add_argument("--json", action="store_true", help="print one JSON object")
    agreement.set_defaults(handler=cmd_golden_agreement)


def cmd_golden_list(workspace: Workspace, args: argparse.Namespace) -> int:
    infos = [workspace.golden.info(name) for name in workspace.golden.names()]
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not infos:
        print("No golden sets yet: reranklens golden import PATH --name NAME (or label queries in the app)")
    for info in infos:
        source = f"  source={info.source}" if info.source else ""
        print(f"{info.name:<24} {count(info.queries, 'query')}, {count(info.judgements, 'judgement')}{source}")
    return EXIT_OK


def cmd_golden_show(workspace: Workspace, args: argparse.Namespace) -> int:
    info = workspace.golden.info(args.name)
    records = golden_records(workspace.golden, args.name)
    if args.json:
        data: dict[str, Any] = {
            "name": info.name,
            "source": info.source,
            "query_count": info.queries,
            "judgement_count": info.judgements,
            "queries": records,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    places = _chunk_places(workspace, args.name, records)
    source = f" from {info.source}" if info.source else ""
    print(f"Golden set '{info.name}'{source}: {count(info.queries, 'query')}, {count(info.judgements, 'judgement')}.")
    for record in records:
        judgements = record["judgements"]
        levels = ", ".join(f"{n} {level}" for level in LEVELS if (n := sum(j["level"] == level for j in judgements)))
        counts = count(len(judgements), "judgement") + (f" ({levels})" if levels else "")
        note = f"  [note: {_flat(record['note'])}]" if record["note"] else ""
        print(f"{record['query_id']}  {counts}  {_flat(record['text'])}{note}")
        for j in judgements:
            # The 0-3 labels describe grades given here; imported qrels keep their own scale (Cranfield: 4 = best).
            label = f" ({GRADE_LABELS[j['grade']]})" if j["origin"] != "import" and j["grade"] in GRADE_LABELS else ""
            who = f"  by {j['who']}" if j["who"] else ""
            jnote = f"  [note: {_flat(j['note'])}]" if j["note"] else ""
            place = f"  {places.get(j['target_id'], '(not in any collection)')}" if j["level"] == "chunk" else ""
            print(f"    {j['level']:<5} {j['target_id']}{place}  grade {j['grade']}{label}{who}  {j['origin']}{jnote}")
    return EXIT_OK


def cmd_golden_import(workspace: Workspace, args: argparse.Namespace) -> int:
    replacing = args.name.strip() in workspace.golden.names()
    info = import_set(workspace.golden, args.path, args.name, args.format, importer=args.who)
    replaced = " (replaced the previous set)" if replacing else ""
    sizes = f"{count(info.queries, 'query')}, {count(info.judgements, 'judgement')}"
    if info.labels > info.judgements:  # a team's set: several people's grades for some target
        sizes += f" ({count(info.labels, 'grade')} by {count(info.labelers, 'labeler')})"
    print(f"Imported golden set '{info.name}': {sizes}{replaced}.")
    return EXIT_OK


def cmd_golden_export(workspace: Workspace, args: argparse.Namespace) -> int:
    info = workspace.golden.info(args.name)
    out = export_set(workspace.golden, args.name, args.format, args.out)
    topics = f" (query texts in {topics_path(out)})" if args.format == "trec" else ""
    print(
        f"Exported golden set '{info.name}' ({count(info.queries, 'query')}, {count(info.judgements, 'judgement')}) "
        f"as {args.format} to {out}{topics}."
    )
    return EXIT_OK


def cmd_golden_delete(workspace: Workspace, args: argparse.Namespace) -> int:
    info = workspace.golden.info(args.name)
    workspace.golden.delete_set(args.name)
    print(f"Deleted golden set '{info.name}' ({count(info.queries, 'query')}, {count(info.judgements, 'judgement')}).")
    return EXIT_OK


def cmd_golden_agreement(workspace: Workspace, args: argparse.Namespace) -> int:
    # scikit-learn and krippendorff load here only: the other golden commands stay quick to start.
    from reranklens.golden.agreement import team_agreement

    result = team_agreement(workspace.golden.person_judgements(args.name))
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return EXIT_OK
    alpha = "n/a" if result.alpha is None else f"{result.alpha:.3f}"
    print(
        f"Golden set '{args.name}': {count(len(result.labelers), 'labeler')}"
        + (f" ({', '.join(_flat(who) or '(unnamed)' for who in result.labelers)})" if result.labelers else "")
        + f"; Krippendorff's alpha (ordinal) {alpha}."
    )
    if not result.shared_units:
        print("No target was graded by two people yet: agreement needs overlapping labels.")
    for pair in result.pairs:
        if pair.n:
            kappa = "n/a" if pair.kappa is None else f"{pair.kappa:.3f}"
            print(
                f"  {_flat(pair.a) or '(unnamed)'} vs {_flat(pair.b) or '(unnamed)'}: {count(pair.n, 'target')} "
                f"both graded, exact {pair.exact:.0%}, within one {pair.within_one:.0%}, kappa (quadratic) {kappa}"
            )
    return EXIT_OK


def _chunk_places(workspace: Workspace, golden_set: str, records: list[dict[str, Any]]) -> dict[str, str]:
    """Each judged chunk id -> "document · heading", looked up in the collection named like the set
    first, then in the others; a chunk no collection holds (re-ingested away) is left out."""
    wanted = {j["target_id"] for r in records for j in r["judgements"] if j["level"] == "chunk"}
    names = workspace.store.names() if wanted else []
    places: dict[str, str] = {}
    for name in sorted(names, key=lambda n: n != golden_set):
        if not (missing := sorted(wanted - set(places))):
            break
        for chunk_id, chunk in workspace.store.chunks_by_id(name, missing).items():
            places[chunk_id] = _flat(f"{chunk.doc_id} · {chunk.heading}" if chunk.heading else chunk.doc_id)
    return places


def _flat(text: str) -> str:
    """Tabs and line breaks collapsed, so each query or judgement stays on one output line."""
    return " ".join(text.split())
