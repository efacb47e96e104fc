"""Write COUNT chunk judgements into one golden set, one ``judge`` call (one transaction) each.

    python tests/golden_writer.py DB SET START COUNT [GO_FILE]

Target ids are ``chunk-<n>`` for n in START..START+COUNT-1, grade ``n % 4``, all for the query
``QUERY`` (added if missing). Prints ``ready`` once the store is open; with GO_FILE it then waits
until that file exists, so a test can release several writers at the same moment.
Used by ``test_golden_store.py`` to check that concurrent processes lose no judgement.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from reranklens.golden.store import GoldenStore

QUERY = "concurrent writers"
GO_TIMEOUT_S = 60


def target_id(number: int) -> str:
    return f"chunk-{number:06d}"


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    db, name, start, count = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    store = GoldenStore(db)
    query_id = store.add_query(name, QUERY)
    print("ready", flush=True)
    if len(argv) == 5:
        deadline = time.monotonic() + GO_TIMEOUT_S
        while not Path(argv[4]).exists():
            if time.monotonic() > deadline:
                print(f"no go file {argv[4]} after {GO_TIMEOUT_S} s", file=sys.stderr)
                return 3
            time.sleep(0.005)
    for number in range(start, start + count):
        store.judge(name, query_id, "chunk", target_id(number), number % 4, who=f"writer-{start}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
