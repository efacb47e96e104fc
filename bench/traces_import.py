"""Streamed trace import: time and peak memory for a generated log, at two sizes side by side.

Each size is imported in a fresh subprocess (so peak RSS is that import's own), from a generated
JSONL file of N traces with 10 candidates of ~300 characters each. Memory is bounded when the
peak RSS of the large import stays close to that of the small one.

    python bench/traces_import.py [--traces 100000] [--baseline 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peak_memory import peak_rss_mb

WORDS = "password reset link valid minutes hours account security sign-in email console api key region".split()


def generate(path: Path, traces: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for n in range(traces):
            candidates = [
                {
                    "id": f"kb-{rng.randrange(50_000)}",
                    "text": " ".join(rng.choices(WORDS, k=45)),
                    "score": round(1 - rank / 20, 3),
                    "metadata": {"source": f"docs/{rng.randrange(300)}.md"},
                }
                for rank in range(10)
            ]
            record = {"trace_id": f"t-{n}", "query": " ".join(rng.choices(WORDS, k=8)), "candidates": candidates}
            out.write(json.dumps(record) + "\n")


def import_once(path: Path, data_dir: Path) -> None:
    """Run in the child: import ``path`` and print seconds and peak RSS (MiB)."""
    from reranklens.retrieve.traces import TraceStore, read_jsonl

    started = time.perf_counter()
    report = TraceStore(data_dir / "traces.sqlite").import_traces("bench", read_jsonl(path), str(path))
    peak_mib = peak_rss_mb()
    print(json.dumps({"traces": report.info.traces, "seconds": time.perf_counter() - started, "peak_mib": peak_mib}))


def measure(traces: int, root: Path) -> dict[str, float]:
    path = root / f"log-{traces}.jsonl"
    generate(path, traces)
    data_dir = root / f"store-{traces}"
    data_dir.mkdir()
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(data_dir)], capture_output=True, text=True, check=True
    )
    result = json.loads(child.stdout)
    result["file_mib"] = path.stat().st_size / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import_once(Path(args.child[0]), Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="reranklens-bench-traces-") as tmp:
        small = measure(args.baseline, Path(tmp))
        large = measure(args.traces, Path(tmp))
    for result in (small, large):
        print(
            f"{result['traces']:>8,} traces ({result['file_mib']:.0f} MiB file): {result['seconds']:.1f} s, "
            f"{result['traces'] / result['seconds']:,.0f} traces/s, peak RSS {result['peak_mib']:.0f} MiB"
        )
    print(
        f"ratio large/small: size x{large['traces'] / small['traces']:.0f}, "
        f"time x{large['seconds'] / small['seconds']:.1f}, peak RSS x{large['peak_mib'] / small['peak_mib']:.2f}"
    )


if __name__ == "__main__":
    main()
