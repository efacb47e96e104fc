"""Cold-process wall time of ``reranklens query`` / ``collections`` / ``golden list``: new path vs old.

Each command is started as a fresh interpreter (what a user's shell does), alternating new and old
round by round so drift in the machine's load hits both alike; medians and ratios are printed.

- ``query`` (vector and hybrid) old: ``RERANKLENS_EMBED_BACKEND=torch``, the sentence-transformers
  embedder the CLI used before (imports torch); new: the default ONNX Runtime embedder.
- ``collections`` and ``golden list`` old: the same command after ``import transformers``, which the
  CLI used to do at start-up only to silence its logger; new: as shipped.

The demo collection is ingested into ``--data-dir`` first when it is not there (not timed).

    nice python bench/query_cold.py --rounds 3 --json bench-cold.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = ["query", "how do I rotate my API keys", "-c", "demo", "-n", "20"]
CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    # (label, argv, old-path env, old-path preamble)
    ("query", QUERY, {"RERANKLENS_EMBED_BACKEND": "torch"}, ""),
    ("query --mode hybrid", [*QUERY, "--mode", "hybrid"], {"RERANKLENS_EMBED_BACKEND": "torch"}, ""),
    ("collections", ["collections"], {}, "import transformers.utils.logging\n"),
    ("golden list", ["golden", "list"], {}, "import transformers.utils.logging\n"),
]


def wall(argv: list[str], env: dict[str, str], preamble: str) -> float:
    code = preamble + "import sys\nfrom reranklens.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "reranklens-cold-bench")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    env = os.environ | {"RERANKLENS_DATA_DIR": str(args.data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("RERANKLENS_EMBED_BACKEND", None)
    wall(["collections"], env, "")  # first run: ingests the demo when missing (the query command would)
    if not (args.data_dir / ".demo-ingested").exists():
        wall(QUERY, env, "")
    wall([*QUERY, "--mode", "hybrid"], env, "")  # builds and saves the demo's BM25 index once

    times: dict[str, dict[str, list[float]]] = {label: {"new": [], "old": []} for label, *_ in CASES}
    for round_ in range(args.rounds):
        for label, command, old_env, preamble in CASES:
            order = ("new", "old") if round_ % 2 == 0 else ("old", "new")
            for path in order:
                if path == "new":
                    times[label]["new"].append(wall(command, env, ""))
                else:
                    times[label]["old"].append(wall(command, env | old_env, preamble))
    rows = []
    print(f"{'command':22s} {'new s':>7s} {'old s':>7s} {'old/new':>8s}")
    for label, series in times.items():
        new, old = statistics.median(series["new"]), statistics.median(series["old"])
        rows.append({"command": label, "new_s": round(new, 2), "old_s": round(old, 2), "speedup": round(old / new, 2)})
        print(f"{label:22s} {new:7.2f} {old:7.2f} {old / new:7.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
