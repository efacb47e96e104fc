"""Cold-process time of ``reranklens query`` / ``collections`` / ``golden list``: this tree against a baseline.

Each command is started as a fresh interpreter (what a user's shell does), alternating the two sides
round by round so drift in the machine's load hits both alike; medians and ratios are printed, of wall
time and of the child's CPU time (user + sys), which other processes on a busy machine disturb less.

- ``--baseline-ref GIT_REF``: the baseline is that commit, checked out into a temporary ``git worktree``
  and run with the same data dir, environment and arguments (e.g. ``--baseline-ref main``).
- Without it, the baseline is an older path of this tree: ``query`` (vector and hybrid) with
  ``RERANKLENS_EMBED_BACKEND=torch``, the sentence-transformers embedder the CLI used before (imports
  torch); ``collections`` and ``golden list`` after ``import transformers``, which the CLI used to do at
  start-up only to silence its logger.

The demo collection is ingested into ``--data-dir`` first when it is not there (not timed).

    nice python bench/query_cold.py --rounds 5 --baseline-ref main --json bench-cold.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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


def run(argv: list[str], env: dict[str, str], preamble: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys) of one cold ``reranklens ARGV``, run in the tree on
    ``env``'s PYTHONPATH (``python -c`` puts the working directory first on ``sys.path``)."""
    code = preamble + "import sys\nfrom reranklens.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """``ref`` checked out (detached) into a temporary worktree, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="reranklens-baseline-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), ref], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)


def imported_from(env: dict[str, str]) -> Path:
    """Where ``reranklens`` is imported from under ``env`` (PYTHONPATH must win over an editable install)."""
    done = subprocess.run(
        [sys.executable, "-c", "import reranklens; print(reranklens.__file__)"],
        env=env,
        cwd=env["PYTHONPATH"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip()).resolve().parents[1]


# Per command label: the environment and preamble one side runs it with.
Side = Callable[[str], tuple[dict[str, str], str]]


def measure(new: Side, old: Side, rounds: int) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """(wall, cpu) of every round per command and side; the sides swap order every round."""
    sides = {"new": new, "old": old}
    times: dict[str, dict[str, list[tuple[float, float]]]] = {label: {"new": [], "old": []} for label, *_ in CASES}
    for round_ in range(rounds):
        for label, command, *_ in CASES:
            for side in ("new", "old") if round_ % 2 == 0 else ("old", "new"):
                env, preamble = sides[side](label)
                times[label][side].append(run(command, env, preamble))
    return times


def prepare_demo(data_dir: Path, env: dict[str, str]) -> None:
    """Ingest the demo and build its BM25 index (not timed)."""
    if not (data_dir / ".demo-ingested").exists():
        run(QUERY, env, "")  # a query on `demo` ingests it when the data dir never had it
    run([*QUERY, "--mode", "hybrid"], env, "")  # builds and saves the demo's BM25 index once


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "reranklens-cold-bench")
    parser.add_argument("--baseline-ref", metavar="GIT_REF", help="compare with this commit (a git worktree of it)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    env = os.environ | {"RERANKLENS_DATA_DIR": str(args.data_dir.resolve()), "PYTHONPATH": str(ROOT)}
    env.pop("RERANKLENS_EMBED_BACKEND", None)
    prepare_demo(args.data_dir, env)

    def new(label: str) -> tuple[dict[str, str], str]:
        return env, ""

    if args.baseline_ref:
        baseline = args.baseline_ref
        with baseline_tree(args.baseline_ref) as tree:
            # Its own data dir: a newer tree migrates the stores forward, and an older one refuses them.
            old_data_dir = args.data_dir.with_name(f"{args.data_dir.name}-baseline")
            old_env = env | {"PYTHONPATH": str(tree), "RERANKLENS_DATA_DIR": str(old_data_dir.resolve())}
            prepare_demo(old_data_dir, old_env)
            if imported_from(old_env) != tree.resolve() or imported_from(env) != ROOT:
                raise SystemExit("PYTHONPATH does not decide which tree is imported: uninstall the editable install")
            times = measure(new, lambda label: (old_env, ""), args.rounds)
    else:
        baseline = "older path of this tree"
        older = {label: (env | old_env, preamble) for label, _, old_env, preamble in CASES}
        times = measure(new, older.__getitem__, args.rounds)

    rows = []
    print(f"baseline (old): {baseline}; medians of {args.rounds} rounds; cpu = the child's user + sys")
    header = ("new s", 7), ("old s", 7), ("old/new", 8), ("new cpu", 8), ("old cpu", 8), ("old/new", 8)
    print(f"{'command':22s} " + " ".join(f"{name:>{width}s}" for name, width in header))
    for label, series in times.items():
        new_wall, old_wall = (statistics.median(w for w, _ in series[s]) for s in ("new", "old"))
        new_cpu, old_cpu = (statistics.median(c for _, c in series[s]) for s in ("new", "old"))
        rows.append(
            {
                "command": label,
                "baseline": baseline,
                "new_s": round(new_wall, 3),
                "old_s": round(old_wall, 3),
                "speedup": round(old_wall / new_wall, 2),
                "new_cpu_s": round(new_cpu, 3),
                "old_cpu_s": round(old_cpu, 3),
                "cpu_speedup": round(old_cpu / new_cpu, 2),
            }
        )
        print(
            f"{label:22s} {new_wall:7.2f} {old_wall:7.2f} {old_wall / new_wall:7.2f}x "
            f"{new_cpu:8.2f} {old_cpu:8.2f} {old_cpu / new_cpu:7.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
