"""``reranklens models ...`` and ``reranklens train``: the rerankers RerankLens knows, and training one.

``models`` commands read and write only ``<data dir>/models``; they load no model. ``train`` prints a
progress line per phase on stderr and the model card's summary (or ``--json``: the whole card) on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_OK, count
from reranklens.models.registry import ModelRegistry
from reranklens.train.trainer import LOSSES, NEGATIVE_SOURCES, Progress, TrainConfig, train_reranker

if TYPE_CHECKING:
    from reranklens.workspace import Workspace


def add_models_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``models list|show|add|remove|default`` and ``train`` on the top-level subparsers."""
    models = commands.add_parser("models", help="rerankers known by name: trained here, registered, Hub names")
    actions = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="named rerankers with their verdicts")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=cmd_models_list)

    show = actions.add_parser("show", help="a model's card: base, training data, settings, metrics")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print the card as JSON")
    show.set_defaults(handler=cmd_models_show)

    add = actions.add_parser("add", help="register a Hugging Face name or a local model directory under a name")
    add.add_argument("name")
    add.add_argument("source", help="e.g. cross-encoder/ms-marco-MiniLM-L-6-v2 or /models/my-cross-encoder")
    add.set_defaults(handler=cmd_models_add)

    remove = actions.add_parser("remove", help="delete a trained model, or forget a registered name")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_models_remove)

    default = actions.add_parser("default", help="make a model the pickers' first choice (refused if it lost)")
    default.add_argument("name")
    default.add_argument("--force", action="store_true", help="even if it did not beat its baseline")
    default.set_defaults(handler=cmd_models_default)

    train = commands.add_parser(
        "train", help="fine-tune a cross-encoder on a golden set, evaluated on held-out queries"
    )
    train.add_argument("--golden", "-g", required=True, help="golden set with the judgements")
    train.add_argument("--collection", "-c", help="collection to mine candidates from (default: the golden set's name)")
    train.add_argument("--name", help="model name (default: <golden>-<loss>)")
    train.add_argument(
        "--base",
        help="base model: Hub name, directory or registry name (default: a cross-encoder "
        "if one is available, else the packaged all-MiniLM-L6-v2 with a fresh head)",
    )
    defaults = TrainConfig("g", "c", "n")
    train.add_argument("--loss", choices=LOSSES, default=defaults.loss)
    train.add_argument("--steps", type=int, default=defaults.steps)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--lr", type=float, default=defaults.learning_rate, help="learning rate of the encoder")
    train.add_argument(
        "--head-lr",
        type=float,
        default=defaults.head_learning_rate,
        help="learning rate of the pooler + classification head (0: same as --lr)",
    )
    train.add_argument("--max-length", type=int, default=defaults.max_length, help="tokens per query+passage pair")
    train.add_argument("--negatives-from", choices=NEGATIVE_SOURCES, default=defaults.negatives_from)
    train.add_argument("--negatives", type=int, default=defaults.negatives_per_query, help="hard negatives per query")
    train.add_argument(
        "--unjudged-negatives",
        action="store_true",
        help="also use unjudged candidates as negatives. RISK: sparse judgements leave relevant "
        "chunks unjudged, and the model learns to rank them down",
    )
    train.add_argument("--held-out", type=float, default=defaults.held_out, help="share of queries held out")
    train.add_argument("--candidates", "-n", type=int, default=defaults.candidates)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    train.add_argument("--json", action="store_true", help="print the model card as JSON")
    train.set_defaults(handler=cmd_train)


def _registry(workspace: Workspace) -> ModelRegistry:
    return ModelRegistry(workspace.settings.data_dir)


def cmd_models_list(workspace: Workspace, args: argparse.Namespace) -> int:
    registry = _registry(workspace)
    rows = [entry.summary() for entry in registry.entries()]
    default = registry.default()
    if args.json:
        print(json.dumps({"default": default, "models": rows}, indent=2))
        return EXIT_OK
    if not rows:
        print("No models yet: `reranklens train --golden SET` or `reranklens models add NAME SOURCE`.")
        return EXIT_OK
    print(f"{'name':<28} {'kind':<10} {'verdict':<9} {'trained':>8} {'baseline':>9}  base / source")
    for row in rows:
        mark = "*" if row["name"] == default else " "
        trained = _num(row["trained_nDCG@10"])
        baseline = _num(row["baseline_nDCG@10"])
        where = row["base"] or row["source"]
        print(f"{mark}{row['name']:<27} {row['kind']:<10} {row['verdict']:<9} {trained:>8} {baseline:>9}  {where}")
    print("(nDCG@10 on held-out queries; * = default; a model whose verdict is not 'better' lost to its baseline)")
    return EXIT_OK


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def cmd_models_show(workspace: Workspace, args: argparse.Namespace) -> int:
    entry = _registry(workspace).get(args.name)
    if args.json:
        print(
            json.dumps(
                {
                    "name": entry.name,
                    "kind": entry.kind,
                    "source": entry.source,
                    "verdict": entry.verdict,
                    "card": entry.card,
                },
                indent=2,
                default=str,
            )
        )
        return EXIT_OK
    if entry.kind == "registered":
        print(f"{entry.name}: registered {entry.added}, loads {entry.source}")
        return EXIT_OK
    readme = Path(entry.source) / "README.md"
    print(readme.read_text(encoding="utf-8") if readme.is_file() else json.dumps(entry.card, indent=2))
    print(f"directory: {entry.source}")
    return EXIT_OK


def cmd_models_add(workspace: Workspace, args: argparse.Namespace) -> int:
    entry = _registry(workspace).add(args.name, args.source)
    print(f"registered '{entry.name}' -> {entry.source}")
    return EXIT_OK


def cmd_models_remove(workspace: Workspace, args: argparse.Namespace) -> int:
    entry = _registry(workspace).get(args.name)
    _registry(workspace).remove(args.name)
    print(f"removed '{entry.name}'" + (f" and deleted {entry.source}" if entry.kind == "trained" else ""))
    return EXIT_OK


def cmd_models_default(workspace: Workspace, args: argparse.Namespace) -> int:
    entry = _registry(workspace).set_default(args.name, force=args.force)
    print(f"'{entry.name}' is now the default reranker in the pickers" + (" (forced)" if args.force else ""))
    return EXIT_OK


def cmd_train(workspace: Workspace, args: argparse.Namespace) -> int:
    config = TrainConfig(
        golden_set=args.golden,
        collection=args.collection or args.golden,
        name=args.name or f"{args.golden}-{args.loss}",
        base=args.base,
        loss=args.loss,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        head_learning_rate=args.head_lr or None,
        max_length=args.max_length,
        negatives_from=args.negatives_from,
        negatives_per_query=args.negatives,
        unjudged_negatives=args.unjudged_negatives,
        held_out=args.held_out,
        candidates=args.candidates,
        seed=args.seed,
    )
    last_phase = [""]

    def progress(p: Progress) -> None:
        if p.phase != last_phase[0] or (p.phase == "training" and p.done % max(1, p.total // 10) == 0):
            loss = f" loss {p.loss:.4f}" if p.loss is not None else ""
            print(f"{p.phase}: {p.done}/{p.total}{loss} {p.message}".rstrip(), file=sys.stderr)
            last_phase[0] = p.phase

    result = train_reranker(workspace, config, progress=progress, overwrite=args.overwrite)
    card = result.card
    if args.json:
        print(json.dumps(card, indent=2, default=str))
        return EXIT_OK
    m = card["metrics"]
    print(f"model: {result.entry.name} -> {result.entry.source}")
    print(f"held-out nDCG@10 ({count(m['held_out_queries'], 'query')}, vector top-{m['candidates']} reranked):")
    print(
        f"  vector-only {m['vector_nDCG@10']:.4f}   random shuffle {m['random_nDCG@10']:.4f}"
        + (f"   base {m['base_nDCG@10']:.4f}" if m.get("base_nDCG@10") is not None else "")
        + f"   trained {m['trained_nDCG@10']:.4f}"
    )
    print(
        f"verdict: {card['verdict']} than {m['baseline']} (delta {m['delta']:+.4f}, p = {m['p_value']})"
        f"; trained in {card['train_s']} s"
    )
    if card["verdict"] != "better":
        print("This model lost to its baseline: it is registered but will not be made the default.")
    return EXIT_OK


def add_untrained_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``make-untrained-reranker`` on the top-level subparsers."""
    untrained = commands.add_parser(
        "make-untrained-reranker",
        help="save an UNTRAINED cross-encoder (packaged MiniLM + random head) to test mechanics offline",
    )
    untrained.add_argument("path", type=Path)
    untrained.add_argument("--seed", type=int, default=1234)
    untrained.set_defaults(handler=cmd_make_untrained)


def cmd_make_untrained(workspace: Workspace, args: argparse.Namespace) -> int:
    from reranklens.rerank.untrained import save_untrained_cross_encoder

    path = save_untrained_cross_encoder(args.path, args.seed)
    print(f"Saved an untrained cross-encoder to {path}: its scores are meaningless (mechanics only).")
    print(f"Use it with: RERANKLENS_RERANKER={path.resolve()}")
    return EXIT_OK
