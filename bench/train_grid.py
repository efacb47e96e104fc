"""The fine-tuning grid of docs/finetuning.md: one ``train_reranker`` run per config, results as JSON lines.

    RERANKLENS_DATA_DIR=/work/exp-data nice -n 19 python bench/train_grid.py A B E   # configs by id

Collections must be ingested into the data dir first (``reranklens ingest .../cranfield -c cranfield``).
Every run writes its model under ``<data dir>/models/grid-<id>`` and one line to ``<data dir>/grid.jsonl``;
a config already in that file is skipped, so an interrupted grid resumes.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace

from reranklens.config import Settings
from reranklens.train.trainer import TrainConfig, train_reranker
from reranklens.workspace import Workspace

# Shared by every config: the packaged bi-encoder with a fresh head (no cross-encoder offline), unjudged
# candidates as negatives (the BEIR sets judge few non-relevant documents), 1/3 of the queries held out,
# and the vector top-20 reranked (top-50 evaluation costs 2.5x the CPU on these shared cores).
BASE = TrainConfig(
    "cranfield",
    "cranfield",
    "grid",
    loss="bce",
    steps=60,
    batch_size=16,
    learning_rate=4e-5,
    head_learning_rate=1e-3,
    max_length=128,
    negatives_from="vector",
    negatives_per_query=8,
    unjudged_negatives=True,
    candidates=20,
)
GRID: dict[str, tuple[str, TrainConfig]] = {
    "A": ("BCE, head lr 1e-3", BASE),
    "B": ("BCE, one lr 4e-5 (no head lr)", replace(BASE, head_learning_rate=None)),
    "E": ("BCE, head lr 1e-3, BM25 negatives", replace(BASE, negatives_from="bm25")),
    "C": ("ListNet, head lr 1e-3, 2 lists/step", replace(BASE, loss="listnet", batch_size=2, steps=40)),
    "D": ("MNRL, head lr 1e-3, 3 hard negs", replace(BASE, loss="mnrl", batch_size=4, negatives_per_query=3)),
    "F": ("BCE, head lr 1e-3, 256 tokens", replace(BASE, max_length=256, steps=40)),
    "G": (
        "MNRL, head lr 1e-3, 3 hard negs, CISI",
        replace(BASE, golden_set="cisi", collection="cisi", loss="mnrl", batch_size=4, negatives_per_query=3),
    ),
    "H": ("BCE, head lr 3e-3, lr 1e-4", replace(BASE, head_learning_rate=3e-3, learning_rate=1e-4)),
    "S": (
        "MNRL, head lr 1e-3, 3 hard negs, 300 steps",
        replace(BASE, loss="mnrl", batch_size=4, negatives_per_query=3, steps=300),
    ),
    "L": ("LambdaLoss, head lr 1e-3, 2 lists/step", replace(BASE, loss="lambda", batch_size=2, steps=40)),
}


def main(ids: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env()
    out = settings.data_dir / "grid.jsonl"
    done = set()
    if out.is_file():
        done = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()}
    workspace = Workspace(settings)
    for run_id in ids or list(GRID):
        if run_id in done:
            continue
        label, config = GRID[run_id]
        config = replace(config, name=f"grid-{run_id}")
        started = time.perf_counter()
        result = train_reranker(workspace, config, overwrite=True)
        card = result.card
        row = {
            "id": run_id,
            "label": label,
            "collection": config.collection,
            "settings": card["settings"],
            "metrics": {k: v for k, v in card["metrics"].items() if k != "all"},
            "verdict": card["verdict"],
            "train_s": card["train_s"],
            "wall_s": round(time.perf_counter() - started, 1),
            "first_loss": card["loss_curve"][0][1] if card["loss_curve"] else None,
            "last_loss": card["loss_curve"][-1][1] if card["loss_curve"] else None,
            "pairs": card["training_data"]["positives"] + card["training_data"]["negatives"],
        }
        with out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
