"""Parsing one OpenInference RETRIEVER span with many documents: this checkout against a baseline checkout,
side by side, each in its own subprocess.

A span of N documents has 4N flat attribute keys (``retrieval.documents.I.document.id|content|score|
metadata.source``). Both checkouts parse all N documents (this one with its per-span cap lifted), so the
ratio is the cost of the parse itself; the capped default of this checkout is printed too.

    git worktree add --detach /tmp/reranklens-baseline main
    python bench/openinference_span.py --baseline /tmp/reranklens-baseline [--documents 2000 8000]
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def span(documents: int) -> dict[str, Any]:
    attributes: dict[str, Any] = {"openinference.span.kind": "RETRIEVER", "input.value": "How do I reset it?"}
    for i in range(documents):
        prefix = f"retrieval.documents.{i}.document."
        attributes |= {
            prefix + "id": f"kb-{i}",
            prefix + "content": f"passage {i} " * 20,
            prefix + "score": 1.0 / (i + 1),
            prefix + "metadata.source": f"docs/{i}.md",
        }
    return {"context": {"trace_id": "t1", "span_id": "s1"}, "attributes": attributes}


def parse_once(documents: int, capped: bool) -> None:
    """Run in the child, with the checkout to measure first on ``sys.path``: print seconds and candidates."""
    from reranklens.retrieve.openinference import spans_to_traces
    from reranklens.retrieve.traces import Trace

    data = span(documents)
    lift = not capped and "max_documents" in inspect.signature(spans_to_traces).parameters
    kwargs = {"max_documents": documents} if lift else {}
    started = time.perf_counter()
    records = list(spans_to_traces([(1, data)], **kwargs))
    seconds = time.perf_counter() - started
    candidates = sum(len(r.candidates) for r in records if isinstance(r, Trace))
    print(json.dumps({"seconds": seconds, "candidates": candidates}))


def measure(repo: Path, documents: int, capped: bool = False) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(repo), str(documents), "capped" if capped else "all"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of RerankLens (e.g. a worktree of main)")
    parser.add_argument("--documents", type=int, nargs="+", default=[2_000, 8_000])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child[0])
        parse_once(int(args.child[1]), args.child[2] == "capped")
        return
    for documents in args.documents:
        new = measure(REPO, documents)
        capped = measure(REPO, documents, capped=True)
        line = f"{documents:>6,} documents: this checkout {new['seconds']:.3f} s ({new['candidates']:,.0f} parsed)"
        line += f", capped {capped['seconds']:.3f} s ({capped['candidates']:,.0f} kept)"
        if args.baseline:
            old = measure(args.baseline.resolve(), documents)
            ratio = old["seconds"] / new["seconds"]
            line += f"; baseline {old['seconds']:.3f} s ({old['candidates']:,.0f} parsed): x{ratio:.0f} faster"
        print(line)


if __name__ == "__main__":
    main()
